"""Jobs and CronJobs (kube: pkg/registry/batch/job/strategy.go, pkg/registry/batch/cronjob/
strategy.go, pkg/apis/batch/validation/validation.go).

Job create: status cleared, and unless `spec.manualSelector` is true the selector is generated
(generateSelector): the template gets `batch.kubernetes.io/controller-uid` / `controller-uid`
(the Job's uid) and `batch.kubernetes.io/job-name` / `job-name` labels, an absent selector
becomes one matching the uid label, and a client's own selector is refused ("`selector` not
auto-generated"). Validation: restartPolicy OnFailure or Never, the selector matching the template,
non-negative counts; on update the selector, completionMode and (for a Job that is not
suspended) the pod template are immutable. CronJob: a schedule in the standard cron format
(without TZ=), a supported concurrencyPolicy, a valid job template, a name of at most 52
characters (its Jobs get an 11-character suffix), a `timeZone` of the IANA database.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchproxy.core.validation import field_invalid, invalid_value, not_supported
from watchproxy.registry.defaults.workloads import job as default_job
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.apps import non_negative, template_causes
from watchproxy.registry.strategies.podspec import as_dict, required
from watchproxy.registry.strategies.selectors import go_label_selector, matches
from watchproxy.registry.strategy import JsonObject, Strategy, register

JOB_RESTART = ("OnFailure", "Never")
CONTROLLER_UID, LEGACY_CONTROLLER_UID = "batch.kubernetes.io/controller-uid", "controller-uid"
JOB_NAME, LEGACY_JOB_NAME = "batch.kubernetes.io/job-name", "job-name"
CRONJOB_NAME_MAX = 52  # validation.go: 63 - len("-$TIMESTAMP")
_TZ_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")  # validTimeZoneCharacters
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def job_spec_causes(spec: Any, path: str) -> list[Cause]:
    """ValidateJobSpec's common rules at `path`."""
    if not isinstance(spec, dict):
        return [required(f"{path}.template")]
    causes: list[Cause] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"):
        causes += non_negative(f"{path}.{key}", spec.get(key))
    mode = spec.get("completionMode")
    if mode not in (None, "NonIndexed", "Indexed"):
        causes.append(not_supported(f"{path}.completionMode", str(mode), ("NonIndexed", "Indexed")))
    return causes + template_causes(spec, JOB_RESTART, path)


def generate_selector(obj: JsonObject) -> None:
    """generateSelector: the uid and job-name labels on the template, the uid in the
    selector (labels the client set are kept; a conflict fails validation)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    template = spec.setdefault("template", {})
    if not isinstance(template, dict):
        return
    template_meta = template.setdefault("metadata", {})
    if not isinstance(template_meta, dict):
        return
    labels = template_meta.get("labels")
    if not isinstance(labels, dict):
        labels = template_meta["labels"] = {}
    uid, name = str(meta.get("uid", "")), str(meta.get("name", ""))
    for key in (LEGACY_JOB_NAME, JOB_NAME):
        labels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
        labels.setdefault(key, uid)
    if spec.get("selector") is None:  # a client's selector is kept and then refused
        spec["selector"] = {"matchLabels": {CONTROLLER_UID: uid}}


def generated_selector_causes(obj: JsonObject) -> list[Cause]:
    """ValidateGeneratedSelector's last rule: without `manualSelector: true` the selector must
    match the Job's own {batch.kubernetes.io/controller-uid: uid} (a client's selector is
    refused, shown as Go's %#v of it)."""
    spec = as_dict(obj.get("spec"))
    selector = spec.get("selector")
    if spec.get("manualSelector") is True or not isinstance(selector, dict):
        return []
    uid = str(as_dict(obj.get("metadata")).get("uid", ""))
    if matches(selector, {CONTROLLER_UID: uid}):
        return []
    shown = go_label_selector(selector)
    return [field_invalid("spec.selector", shown, "`selector` not auto-generated")]


@register("jobs.batch")
class JobStrategy(Strategy):
    clear_status_on_create = True
    kube_validation = True

    def prepare_for_create(self, obj: JsonObject) -> None:
        super().prepare_for_create(obj)
        generate_selector(obj)
        default_job(obj)  # kube defaults again on read: the Job's labels from the template's

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = obj.get("spec")
        causes: list[Cause] = []
        if not isinstance(spec, dict) or not isinstance(spec.get("selector"), dict):
            causes.append(required("spec.selector"))
        return causes + job_spec_causes(spec, "spec") + generated_selector_causes(obj)

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        new_spec = as_dict(new.get("spec"))
        old_spec = as_dict(old.get("spec"))
        if new_spec.get("selector") != old_spec.get("selector"):
            shown = go_label_selector(new_spec.get("selector"))
            causes.append(field_invalid("spec.selector", shown, "field is immutable"))
        if new_spec.get("completionMode") != old_spec.get("completionMode"):
            mode = str(new_spec.get("completionMode") or "")
            causes.append(invalid_value("spec.completionMode", mode, "field is immutable"))
        suspended = old_spec.get("suspend") is True and new_spec.get("suspend") is True
        if not suspended and new_spec.get("template") != old_spec.get("template"):
            # kube prints the whole core.PodTemplateSpec with %#v here; elided.
            causes.append(
                field_invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable")
            )
        return causes


def schedule_problem(schedule: str) -> str:
    """Why robfig/cron's ParseStandard refuses `schedule` (the field count and characters
    only), or "" when it is acceptable; TZ= prefixes are refused as kube refuses them."""
    if "TZ=" in schedule:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if schedule.startswith("@"):
        if schedule in _DESCRIPTORS or schedule.startswith("@every "):
            return ""
        return f"unrecognized descriptor: {schedule}"
    fields = schedule.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    allowed = set("0123456789*/,-?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    for field in fields:
        if not set(field) <= allowed:
            return f"failed to parse int from {field}"
    return ""


def time_zone_causes(zone: Any) -> list[Cause]:
    """validateTimeZone: non-empty, each '/'-part of IANA name characters (at most 14, not "."
    or "..", not starting with '-'), not "Local", a zone time.LoadLocation knows (here Python's
    zoneinfo, the same IANA database)."""
    if not isinstance(zone, str):
        return []
    path = "spec.timeZone"
    if not zone:
        return [invalid_value(path, zone, "timeZone must be nil or non-empty string")]
    unknown = invalid_value(path, zone, f"unknown time zone {zone}")
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.fullmatch(part):
            return [unknown]
    if zone.lower() == "local":
        explicit = (
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        )
        return [invalid_value(path, zone, explicit)]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [unknown]
    return []


@register("cronjobs.batch")
class CronJobStrategy(Strategy):
    clear_status_on_create = True
    kube_validation = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        causes: list[Cause] = []
        name = str((obj.get("metadata") or {}).get("name", ""))
        if len(name) > CRONJOB_NAME_MAX:
            causes.append(
                invalid_value(
                    "metadata.name", name, f"must be no more than {CRONJOB_NAME_MAX} characters"
                )
            )
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [*causes, required("spec.schedule"), required("spec.jobTemplate")]
        schedule = spec.get("schedule")
        if not isinstance(schedule, str) or not schedule:
            causes.append(required("spec.schedule"))
        else:
            problem = schedule_problem(schedule)
            if problem:
                causes.append(invalid_value("spec.schedule", schedule, problem))
        causes += time_zone_causes(spec.get("timeZone"))
        policy = spec.get("concurrencyPolicy")
        policies = ("Allow", "Forbid", "Replace")
        if policy not in policies:
            causes.append(not_supported("spec.concurrencyPolicy", str(policy or ""), policies))
        for key in ("startingDeadlineSeconds",):
            causes += non_negative(f"spec.{key}", spec.get(key))
        for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            causes += non_negative(f"spec.{key}", spec.get(key))
        job_template = spec.get("jobTemplate")
        if not isinstance(job_template, dict):
            return [*causes, required("spec.jobTemplate")]
        return causes + job_spec_causes(job_template.get("spec"), "spec.jobTemplate.spec")
