// Validates Kubernetes manifests (JSON array on stdin) against the API schemas shipped by kubernetes-models
// (generated from the Kubernetes OpenAPI spec) and KEDA's CRDs (@kubernetes-models/keda). ESM-only, hence its own process (jest runs tests as CommonJS).
// Prints a JSON array of {id, error} for the invalid ones; exits 0 either way (the test asserts on the output).
import * as k8s from 'kubernetes-models';
import * as keda from '@kubernetes-models/keda';

const groups = { v1: k8s.v1, 'apps/v1': k8s.apps.v1, 'policy/v1': k8s.policy.v1, 'networking.k8s.io/v1': k8s.networkingK8sIo.v1, 'keda.sh/v1alpha1': keda.kedaSh.v1alpha1 };
let input = '';
for await (const chunk of process.stdin) input += chunk;
const problems = [];
for (const manifest of JSON.parse(input)) {
  const id = `${manifest.apiVersion} ${manifest.kind}/${manifest.metadata?.name}`;
  const Model = groups[manifest.apiVersion]?.[manifest.kind];
  if (!Model) {
    problems.push({ id, error: 'no schema for this apiVersion and kind' });
    continue;
  }
  try {
    new Model(manifest).validate();
  } catch (e) {
    problems.push({ id, error: String(e.message ?? e).slice(0, 2000) });
  }
}
process.stdout.write(JSON.stringify(problems));
