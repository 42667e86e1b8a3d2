"""Tests for watchproxy.kubeproto.refresh, the tool that writes proto/ and the Go-facts tables.

On small upstream-shaped snippets: a generated.proto message and its Go struct give the flags
kubeproto/go_facts.py documents (K, P, PK, S, I), the closure keeps only reachable messages, and
a trimmed file keeps names, numbers and order, with flattened imports.
"""

from __future__ import annotations

import pytest

from watchproxy.kubeproto.refresh import (
    Field,
    closure,
    field_flags,
    go_facts,
    parse_go_structs,
    parse_proto,
    render_proto,
)

PACKAGE = "k8s.io.api.batch.v1"

PROTO = """
syntax = "proto2";
package k8s.io.api.batch.v1;
import "k8s.io/api/core/v1/generated.proto";
// Job represents a job.
message Job {
  // Standard object's metadata.
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
}
message JobSpec {
  optional int32 parallelism = 1;
  optional string name = 3;
  optional string completionMode = 9;
  optional .k8s.io.api.core.v1.PodTemplateSpec template = 6;
  optional JobRef ref = 7;
  repeated string tags = 8;
  map<string, string> labels = 10;
  optional Inner inner = 11;
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 12;
}
message JobRef {
  optional string name = 1;
}
message Inner {
  optional string x = 1;
}
message Unused {
  optional string y = 1;
}
"""

GO = """
type Job struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	Spec JobSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
}

type JobSpec struct {
	Parallelism *int32 `json:"parallelism,omitempty" protobuf:"varint,1,opt,name=parallelism"`
	Name string `json:"name" protobuf:"bytes,3,opt,name=name"`
	CompletionMode *Mode `json:"completionMode" protobuf:"bytes,9,opt,name=completionMode"`
	Template corev1.PodTemplateSpec `json:"template" protobuf:"bytes,6,opt,name=template"`
	Ref *JobRef `json:"reference,omitempty" protobuf:"bytes,7,opt,name=ref"`
	Tags []string `json:"tags" protobuf:"bytes,8,rep,name=tags"`
	Labels map[string]string `json:"labels,omitempty" protobuf:"bytes,10,rep,name=labels"`
	Inner `json:"" protobuf:"bytes,11,opt,name=inner"`
	Selector *metav1.LabelSelector `json:"selector" protobuf:"bytes,12,opt,name=selector"`
}
"""


def test_go_facts_of_a_message() -> None:
    messages = parse_proto(PROTO, PACKAGE)
    structs = parse_go_structs([GO])
    table = go_facts(PACKAGE, messages, {"Job", "JobSpec"}, structs)
    assert table == {
        f"{PACKAGE}.Job": "metadata:S spec:S",
        f"{PACKAGE}.JobSpec": (
            "parallelism:P name:K completionMode:PK template:S tags:K inner:I selector:K"
        ),
    }


def test_field_flags_follow_the_json_tag() -> None:
    spec = {field.name: field for field in parse_proto(PROTO, PACKAGE)["JobSpec"]}
    go = {field.proto_name: field for field in parse_go_structs([GO])["JobSpec"]}
    assert go["ref"].json_name == "reference"  # reported for go_facts._JSON_NAMES
    assert field_flags(spec["ref"], go["ref"]) == ""  # a pointer with omitempty: the default
    assert field_flags(spec["labels"], go["labels"]) == ""


def test_closure_and_trimmed_file() -> None:
    messages = parse_proto(PROTO, PACKAGE)
    core = "k8s.io.api.core.v1"
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1"
    parsed: dict[str, dict[str, list[Field]]] = {
        PACKAGE: messages,
        core: {"PodTemplateSpec": []},
        meta: {"ObjectMeta": [], "LabelSelector": []},
    }
    keep = closure(parsed, [f"{PACKAGE}.Job"])
    assert keep == {
        PACKAGE: {"Job", "JobSpec", "JobRef", "Inner"},
        meta: {"ObjectMeta", "LabelSelector"},
        core: {"PodTemplateSpec"},
    }
    text = render_proto(PACKAGE, messages, keep[PACKAGE], "v0.37.0")
    assert "at v0.37.0" in text.splitlines()[0]
    assert 'import "k8s_core_v1.proto";\nimport "k8s_meta_v1.proto";\n' in text
    assert "message Unused" not in text
    assert (
        "message JobSpec {\n"
        "  optional int32 parallelism = 1;\n"
        "  optional string name = 3;\n"
        "  optional string completionMode = 9;\n"
        "  optional k8s.io.api.core.v1.PodTemplateSpec template = 6;\n"
        "  optional JobRef ref = 7;\n"
        "  repeated string tags = 8;\n"
        "  map<string, string> labels = 10;\n"
        "  optional Inner inner = 11;\n"
        "  optional k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 12;\n"
        "}\n"
    ) in text
    with pytest.raises(KeyError, match="Missing"):
        closure(parsed, [f"{PACKAGE}.Missing"])


def test_unparsable_proto_line() -> None:
    with pytest.raises(ValueError, match="cannot parse"):
        parse_proto("message A {\n  oneof x {\n}\n", PACKAGE)
