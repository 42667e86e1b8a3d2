"""Who is asking and what they may do: authentication (x509, token file, ServiceAccount JWTs,
TokenReview webhook, anonymous, impersonation) and authorization (RBAC, Node, tenant scope).

Nothing here speaks HTTP: api/ builds `Attributes` from a request and maps the answers to
401/403 Status bodies (house-style 5.1a).
"""
