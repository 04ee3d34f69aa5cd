// The signing page's wallet: find the wallet you already use (EIP-6963, else window.ethereum), check the
// account and the chain, sign the Safe transaction's typed data (eth_signTypedData_v4) and post it to the
// API, which verifies it like any other signature: nothing here is trusted. The server rendered every fact.
//
// States: loading -> ready -> connecting -> signing -> done, or -> error (retry goes back to ready);
// a proposal that takes no signatures stays "closed".

const page = document.getElementById("page");
const statusBox = document.getElementById("status");
const walletList = document.getElementById("wallets");
const retryButton = document.getElementById("retry");
const linkBox = document.getElementById("link");
const linkButton = document.getElementById("link-button");

const facts = page ? page.dataset : {};
const proposalId = facts.proposal;
const chainId = Number(facts.chainId);
const owners = (facts.owners || "").split(",").filter(Boolean).map((a) => a.toLowerCase());
const signed = new Set((facts.signed || "").split(",").filter(Boolean).map((a) => a.toLowerCase()));
const telegram = readTelegram();
const wallets = new Map(); // id -> { info, provider }
const BUSY = new Set(["loading", "connecting", "signing"]);
const DISCOVERY_MS = 400;
let state = facts.state || "closed";
let account = "";
let chosenWallet = null;

class PageError extends Error {}

function setState(next, message) {
  state = next;
  if (page) page.dataset.state = next;
  if (statusBox) {
    statusBox.dataset.state = next;
    statusBox.textContent = message;
  }
  const busy = BUSY.has(next);
  for (const button of walletList ? walletList.querySelectorAll("button") : []) button.disabled = busy || next === "done";
  if (retryButton) retryButton.hidden = next !== "error";
  if (linkButton) linkButton.disabled = busy;
  if (linkBox) linkBox.hidden = !(telegram.initData && facts.link === "on" && account && next === "done");
}

// Inside Telegram the Mini App's data is in the URL fragment: #tgWebAppData=...&tgWebAppThemeParams=...
function readTelegram() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const initData = fragment.get("tgWebAppData") || "";
  let theme = {};
  try {
    theme = JSON.parse(fragment.get("tgWebAppThemeParams") || "{}");
  } catch {
    theme = {};
  }
  for (const [key, value] of Object.entries(theme || {})) {
    if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
      document.documentElement.style.setProperty(`--tg-theme-${key.replaceAll("_", "-")}`, value);
    }
  }
  if (initData) tellTelegram("web_app_ready");
  return { initData };
}

function tellTelegram(eventType) {
  try {
    if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(eventType, "{}");
    else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData: {} }), "https://web.telegram.org");
    }
  } catch {
    // Not inside Telegram after all: nothing to tell.
  }
}

function explain(error, during) {
  if (error instanceof PageError) return error.message;
  const code = error && error.code;
  if (code === 4001) return "You rejected the request in your wallet. Nothing was signed.";
  if (code === 4100) return "The wallet has not authorised this page for that account. Unlock the wallet or connect the account, then try again.";
  if (code === 4902) return `Your wallet does not know chain ${chainId}. Add that network to the wallet, then try again.`;
  if (code === 4200) return `Your wallet does not support ${during}. Use the typed-data file below instead.`;
  if (code === -32002) return "Your wallet already has a request waiting: open the wallet and answer it.";
  const detail = (error && (error.message || String(error))) || "unknown error";
  return `The wallet failed during ${during}: ${detail}`;
}

async function api(path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (telegram.initData) headers["X-Telegram-Init-Data"] = telegram.initData;
  let response;
  try {
    response = await fetch(path, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new PageError("The server cannot be reached. Check your connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new PageError(`The server refused: ${data.error || response.status}.`);
  return data;
}

async function ensureChain(provider) {
  const current = parseInt(await provider.request({ method: "eth_chainId" }), 16);
  if (current === chainId) return;
  setState("connecting", `Your wallet is on chain ${current}; asking it to switch to chain ${chainId}…`);
  await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: `0x${chainId.toString(16)}` }] });
  const now = parseInt(await provider.request({ method: "eth_chainId" }), 16);
  if (now !== chainId) throw new PageError(`The wallet is still on chain ${now}, not chain ${chainId}.`);
}

async function connect(entry) {
  chosenWallet = entry;
  setState("connecting", `Connecting to ${entry.info.name}…`);
  const accounts = await entry.provider.request({ method: "eth_requestAccounts" });
  const chosen = String((accounts && accounts[0]) || "").toLowerCase();
  if (!chosen) throw new PageError("The wallet shared no account. Unlock it and try again.");
  if (!owners.includes(chosen)) {
    throw new PageError(`The account ${chosen} is not an owner of this Safe, so its signature would not count. Choose an owner account in your wallet and try again.`);
  }
  account = chosen;
  await ensureChain(entry.provider);
}

async function sign(entry) {
  let during = "connecting";
  try {
    await connect(entry);
    if (signed.has(account)) throw new PageError(`The account ${account} has signed this proposal already.`);
    during = "signing";
    setState("signing", "Confirm the signature in your wallet. Compare the hashes above with what it shows.");
    const typed = await api(`/api/proposals/${proposalId}/typed-data`);
    const signature = await entry.provider.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typed)] });
    setState("signing", "Checking the signature…");
    const result = await api(`/api/proposals/${proposalId}/signatures`, { signature });
    signed.add(account);
    finished(result);
  } catch (error) {
    setState("error", explain(error, during));
  }
}

function finished(result) {
  const proposal = result.proposal || {};
  const count = document.getElementById("count");
  if (count) count.textContent = String(result.confirmations);
  const row = document.querySelector(`[data-owner="${account}"]`);
  if (row) {
    row.querySelector(".mark").className = "mark signed";
    row.querySelector(".said").textContent = "signed (eip712), just now";
  }
  if (proposal.state === "executed" && proposal.execution) {
    setState("done", `Signed. The proposal is executed: transaction ${proposal.execution.txHash}.`);
  } else if (result.executionError) {
    setState("done", `Signed: ${result.confirmations} of ${result.threshold}. It did not execute yet: ${result.executionError}`);
  } else {
    setState("done", `Signed: ${result.confirmations} of ${result.threshold} signatures.`);
  }
}

async function link(entry) {
  try {
    setState("connecting", "Asking the server for a challenge to sign…");
    const base = { initData: telegram.initData, proposal: Number(proposalId), owner: account };
    const { challenge } = await api("/api/telegram/link-challenge", base);
    setState("signing", "Sign the challenge in your wallet (a message, not a transaction).");
    const hex = `0x${Array.from(new TextEncoder().encode(challenge), (b) => b.toString(16).padStart(2, "0")).join("")}`;
    const signature = await entry.provider.request({ method: "personal_sign", params: [hex, account] });
    await api("/api/telegram/link", { ...base, signature });
    setState("done", `Linked ${account} to your Telegram account.`);
    if (linkBox) linkBox.hidden = true;
  } catch (error) {
    setState("error", explain(error, "linking"));
  }
}

function showWallets() {
  if (walletList.childElementCount === wallets.size) return; // already shown (a wallet may announce twice)
  walletList.replaceChildren();
  for (const entry of wallets.values()) {
    const button = document.createElement("button");
    button.type = "button";
    button.disabled = BUSY.has(state) && state !== "loading";
    const icon = String(entry.info.icon || "");
    if (icon.startsWith("data:image/")) {
      const img = document.createElement("img");
      img.src = icon;
      img.alt = "";
      button.append(img);
    }
    button.append(`Sign with ${entry.info.name || "browser wallet"}`);
    button.addEventListener("click", () => sign(entry));
    walletList.append(button);
  }
}

function discovered() {
  if (wallets.size) {
    showWallets();
    if (state === "loading") setState("ready", "Choose your wallet. It will ask you to connect an owner account, then to sign.");
  }
}

function onAnnounce(event) {
  const detail = event.detail || {};
  const info = detail.info || {};
  if (!detail.provider || typeof detail.provider.request !== "function") return;
  wallets.set(info.uuid || info.rdns || info.name || `wallet-${wallets.size}`, { info, provider: detail.provider });
  discovered();
}

function discover() {
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  setTimeout(() => {
    if (!wallets.size && window.ethereum && typeof window.ethereum.request === "function") {
      wallets.set("injected", { info: { name: "browser wallet" }, provider: window.ethereum });
    }
    discovered();
    if (!wallets.size) {
      setState("error", "No browser wallet found on this device. Install or unlock one and try again, or sign the typed-data file below with another tool.");
    }
  }, DISCOVERY_MS);
}

if (page && state !== "closed" && statusBox && walletList) {
  retryButton.addEventListener("click", () => {
    if (wallets.size) setState("ready", "Choose your wallet and try again.");
    else {
      setState("loading", "Looking for a browser wallet…");
      discover();
    }
  });
  if (linkButton) {
    linkButton.addEventListener("click", () => {
      if (chosenWallet) link(chosenWallet);
    });
  }
  setState("loading", "Looking for a browser wallet…");
  discover();
}
