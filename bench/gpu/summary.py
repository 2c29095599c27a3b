"""Summarises a bench/gpu/run.sh output folder: prints a table and writes
summary.json. Floors: the decode step cannot be faster than reading every
decoder weight once from HBM (weight bytes / bandwidth); a 256-token draft
not faster than prefill + 256 such steps (~0.45 s for LLaVA-Rad on an
H100/H200, issue 13)."""
import json
import os
import sys

# HBM bandwidth by GPU name (bytes/s): H100 SXM 3.35 TB/s, H100 PCIe 2.0,
# H100 NVL 3.9, H200 4.8. Unknown GPUs: no floor printed.
BANDWIDTH = [("H200", 4.8e12), ("H100 NVL", 3.9e12), ("H100 PCIe", 2.0e12), ("H100", 3.35e12)]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(out):
    s = {}
    demo = load(os.path.join(out, "demo_parity.json"))
    if demo:
        s["demo_tokens_identical"] = all(r["same_tokens_as_first"] for r in demo["results"])
        s["demo"] = {r["config"]: {"prefill_ms": r["prefill_ms"], "ms_per_step": r["ms_per_step"]} for r in demo["results"]}
    rt = load(os.path.join(out, "runtime.json"))
    if rt:
        s["onnxruntime"], s["providers"], s["cuda"] = rt["version"], rt["execution_providers"], rt["cuda"]
    ours = load(os.path.join(out, "radraft_shaped.json"))
    torch_ = load(os.path.join(out, "torch_shaped.json"))
    if ours:
        r = ours["results"][0]
        s["radraft"] = {"prefill_ms": r["prefill_ms"], "ms_per_step": r["ms_per_step"], "prompt": ours["prompt_tokens"], "steps": ours["steps"]}
    if torch_:
        s["pytorch"] = {"prefill_ms": torch_["torch_prefill_ms"], "ms_per_step": torch_["torch_ms_per_step"], "device": torch_["device"], "torch": torch_["torch"]}
        if "hf_generate_ms_total" in torch_:
            s["pytorch"]["hf_generate_ms_total"] = torch_["hf_generate_ms_total"]
        bw = next((b for name, b in BANDWIDTH if name in torch_["device"]), None)
        if bw:
            s["floor"] = {"bandwidth_bytes_per_s": bw, "ms_per_step": 1000 * torch_["weight_bytes"] / bw}
    if ours and torch_:
        s["radraft_vs_pytorch_step"] = s["radraft"]["ms_per_step"] / s["pytorch"]["ms_per_step"]
        s["radraft_vs_pytorch_prefill"] = s["radraft"]["prefill_ms"] / s["pytorch"]["prefill_ms"]
        s["radraft_256_token_draft_s"] = (s["radraft"]["prefill_ms"] + 256 * s["radraft"]["ms_per_step"]) / 1000
        if "floor" in s:
            s["radraft_vs_floor_step"] = s["radraft"]["ms_per_step"] / s["floor"]["ms_per_step"]
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
    print(json.dumps(s, indent=1))
    return 0 if s.get("demo_tokens_identical") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
