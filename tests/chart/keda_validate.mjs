// Validate KEDA objects with @kubernetes-models/keda (installed by scripts/install-tools.sh).
// Usage: node keda_validate.mjs <node_modules dir>  < objects.json   (a JSON array)
// Prints one line per object; exits 1 if any object is invalid or of an unknown kind.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";

const modules = process.argv[2];
const load = async (kind) =>
  (await import(pathToFileURL(join(modules, "@kubernetes-models/keda/keda.sh/v1alpha1", `${kind}.js`)).href))[kind];

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const obj of objects) {
  const name = `${obj.kind}/${obj.metadata?.name}`;
  try {
    const Model = await load(obj.kind);
    new Model(obj).validate();
    console.log(`ok ${name}`);
  } catch (err) {
    failed = true;
    console.log(`INVALID ${name}: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
