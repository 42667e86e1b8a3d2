"""kube-apiserver's authorizers as a pure library: RBAC (with ClusterRole aggregation evaluated in
process), the Node authorizer and NodeRestriction admission, the union chain of
`--authorization-mode`, kube's 403 texts, and the bootstrap policy.

Nothing here does I/O beyond reading the `ObjectSource` (the watch cache) and the bootstrap YAML.

- `rules.py`: PolicyRule matching and comparison (pkg/apis/rbac/v1/evaluation_helpers.go,
  component-helpers/auth/rbac/validation/policy_comparator.go).
- `rbac.py`: `RBACAuthorizer` (plugin/pkg/auth/authorizer/rbac/rbac.go,
  pkg/registry/rbac/validation/rule.go) and the RBAC write-escalation checks.
- `node.py`: `NodeAuthorizer` (plugin/pkg/auth/authorizer/node) and NodeRestriction
  (plugin/pkg/admission/noderestriction).
- `union.py`: the authorizer chain and the 403 Status bodies.
- `bootstrap.py`: kube's default ClusterRoles and ClusterRoleBindings.
"""
