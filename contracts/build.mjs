// Compile the Solidity sources with the pinned solc-js and write one JSON artifact per contract.
// Usage: node contracts/build.mjs [--out DIR]   (default DIR: contracts/artifacts)
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const sourceDir = path.join(here, "solidity");
const outFlag = process.argv.indexOf("--out");
const outDir = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : path.join(here, "artifacts");

function listSources(dir, prefix = "") {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return listSources(path.join(dir, entry.name), rel);
    return entry.name.endsWith(".sol") ? [rel] : [];
  }).sort();
}

const sources = {};
for (const rel of listSources(sourceDir)) {
  sources[`contracts/${rel}`] = { content: fs.readFileSync(path.join(sourceDir, rel), "utf8") };
}

function findImports(importPath) {
  const candidate = path.join(root, "node_modules", importPath);
  if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  return { error: `import not found: ${importPath}` };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

// The factory embeds this proxy, and `kms deploy` needs it on its own too.
const PROXY_SOURCE = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
const proxyImport = findImports(PROXY_SOURCE);
if (proxyImport.error) {
  console.error(`${proxyImport.error} (run npm ci first)`);
  process.exit(1);
}
sources[PROXY_SOURCE] = { content: proxyImport.contents };

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
// 2018 asks for `pure` on supportsInterface; the spec fixes it as `view`, so that advice is noise.
for (const e of output.errors || []) {
  if (e.severity !== "error" && e.errorCode !== "2018") console.error(e.formattedMessage);
}
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}

fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const [file, contracts] of Object.entries(output.contracts)) {
  if (!file.startsWith("contracts/") && file !== PROXY_SOURCE) continue;
  for (const [name, artifact] of Object.entries(contracts)) {
    const bytecode = artifact.evm.bytecode.object;
    if (!bytecode) continue; // interfaces and abstract contracts have nothing to deploy
    const record = {
      contractName: name,
      sourceName: file,
      compiler: `solc-js ${solc.version()}`,
      optimizer: { enabled: true, runs: 200 },
      abi: artifact.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${artifact.evm.deployedBytecode.object}`,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(record, null, 2) + "\n");
    written.push(name);
  }
}
console.log(`compiled ${written.sort().join(", ")} -> ${path.relative(process.cwd(), outDir) || "."}`);
