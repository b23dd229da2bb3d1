// Runs the firmware's pure-module tests inside a real MicroPython VM (the WebAssembly port).
// The app and test files are copied into the VM's filesystem with the repository's layout,
// so tests/runner.py finds ../app as it does under CPython.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const firmware = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const mp = await loadMicroPython({
  heapsize: 4 * 1024 * 1024,
  linebuffer: true,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});

function copyPythonFiles(folder) {
  const target = "/fw/" + folder;
  mp.FS.mkdirTree(target);
  for (const name of readdirSync(join(firmware, folder))) {
    if (name.endsWith(".py")) {
      mp.FS.writeFile(target + "/" + name, readFileSync(join(firmware, folder, name)));
    }
  }
}

copyPythonFiles("app");
copyPythonFiles("tests");

let failed;
try {
  mp.runPython("import sys\nsys.path.insert(0, '/fw/tests')\nimport runner\nfailed = runner.run()");
  failed = mp.globals.get("failed");
} catch (error) {
  console.error("MicroPython raised: " + error.message);
  failed = -1;
}
process.exitCode = failed === 0 ? 0 : 1;
