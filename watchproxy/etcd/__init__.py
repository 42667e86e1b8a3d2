"""etcd v3 access layer: async gRPC client, dev/test server launcher, proto codegen.

Kept import-free on purpose: ``python -m watchproxy.etcd.generate`` must work
before ``_generated`` exists, so importing this package must not pull in the
client (which imports the generated modules). Import submodules explicitly.
"""
