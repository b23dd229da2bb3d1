// Runs firmware/tests/heap_workload.py in the 32-bit WebAssembly MicroPython VM, from a folder holding it and the
// app's modules as .mpy (runner/tests/heap_calibration.rs): what the same allocations take on a 32-bit port.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const folder = process.argv[2];
const mp = await loadMicroPython({
  heapsize: 1024 * 1024,
  linebuffer: true,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
mp.FS.mkdirTree("/fw");
for (const name of readdirSync(folder)) {
  mp.FS.writeFile("/fw/" + name, readFileSync(join(folder, name)));
}
try {
  mp.runPython("import os, sys\nos.chdir('/fw')\nsys.path.insert(0, '/fw')\nimport heap_workload");
} catch (error) {
  console.error("MicroPython raised: " + error.message);
  process.exitCode = 1;
}
