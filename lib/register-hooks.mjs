// ESM loader hooks of rust-cluster/register: 'cluster' and 'node:cluster' resolve to rust-cluster.
let entry = null;

export function initialize(data) {
  entry = data.entry;
}

export async function resolve(specifier, context, next) {
  if (entry !== null && (specifier === 'cluster' || specifier === 'node:cluster')) {
    return { url: entry, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
