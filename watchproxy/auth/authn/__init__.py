"""kube-apiserver's authentication, as a pure library (no HTTP, no event loop of its own).

One module per authenticator, each naming the kube source file it follows:

* `x509`: client certificates (CN -> user, O -> groups);
* `tokenfile`: `--token-auth-file`;
* `serviceaccount`: ServiceAccount JWTs (legacy Secret tokens and bound tokens), the
  TokenRequest issuer and its validation;
* `webhook`: the TokenReview webhook with kube's result cache;
* `bearer`: the `Authorization: Bearer` header;
* `chain`: kube's authenticator union (x509, then the bearer token through token file ->
  ServiceAccount JWT -> webhook; anonymous last) and TokenReview;
* `impersonation`: the `Impersonate-*` headers;
* `errors`: what authenticators answer besides a user.

A refused request is answered by the API layer with kube's 401 Status: reason `Unauthorized`,
message `Unauthorized` (apimachinery `NewUnauthorized("Unauthorized")`), whatever the reason
logged here.
"""
