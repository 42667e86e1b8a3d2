// A @kubernetes/client-node informer on one custom resource, as a controller would run it.
// Usage: node informer.mjs KUBECONFIG GROUP VERSION NAMESPACE PLURAL SECONDS
// Prints one JSON line per informer callback ({"event": "add"|"update"|"delete"|"error",
// "name", "resourceVersion", "spec"}) and exits 0 after SECONDS; CLIENT_NODE is the path of the
// installed @kubernetes/client-node package (scripts/ensure-client-node.sh).
const k8s = await import(process.env.CLIENT_NODE);
const [kubeconfig, group, version, namespace, plural, seconds] = process.argv.slice(2);

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const api = kc.makeApiClient(k8s.CustomObjectsApi);
const path = `/apis/${group}/${version}/namespaces/${namespace}/${plural}`;
const list = () => api.listNamespacedCustomObject({ group, version, namespace, plural });
const informer = k8s.makeInformer(kc, path, list);

const emit = (event, obj) =>
  console.log(JSON.stringify({
    event,
    name: obj?.metadata?.name,
    resourceVersion: obj?.metadata?.resourceVersion,
    spec: obj?.spec,
  }));
informer.on('add', (obj) => emit('add', obj));
informer.on('update', (obj) => emit('update', obj));
informer.on('delete', (obj) => emit('delete', obj));
let stopping = false; // stop() aborts the watch request: not an error of the server's
informer.on('error', (err) => {
  if (stopping) return;
  console.log(JSON.stringify({ event: 'error', message: String(err) }));
  setTimeout(() => informer.start(), 500);
});
await informer.start();
console.log(JSON.stringify({ event: 'started' }));
setTimeout(async () => {
  stopping = true;
  await informer.stop();
  process.exit(0);
}, Number(seconds) * 1000);
