#!/usr/bin/env python3
"""vmoe vs onnxruntime on the same models, same inputs, same machine, same run.

Models (seeded random weights): ViT-Tiny (timm vit_tiny_patch16_224: 224², patch 16, D=192, depth 12,
3 heads, 1000 classes) and a Mobile V-MoE-Tiny (same, with the last 2 blocks MoE, 10 experts, k=1,
shared router on the class token). Each is saved as .h5 (converted by vmoe-convert) and exported to
ONNX (torch.onnx TorchScript exporter, opset 17, dynamic batch) for onnxruntime.

  python3 bench/benchmark.py [--threads 1 2] [--batches 1 8] [--iterations 20]
Prints a Markdown table; writes bench/out/results.json. Build first: swift build -c release.
"""
import argparse, json, os, subprocess, sys
import numpy as np
import torch, h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import generate as G  # the fixtures' model code (MobileVMoE, randomize, write_h5)

OUT = os.path.join(HERE, "out")
BIN = os.path.join(ROOT, ".build", "release")

MODELS = {
    "vit_tiny": dict(family="vit", image_size=224, patch_size=16, dim=192, depth=12, heads=3, mlp_ratio=4.0,
                     num_classes=1000, layer_norm_eps=1e-6),
    "vmoe_tiny": dict(family="vmoe", image_size=224, patch_size=16, dim=192, depth=12, heads=3, mlp_ratio=4.0,
                      num_classes=1000, layer_norm_eps=1e-6, moe_layers=2, num_experts=10, top_k=1,
                      router="shared", router_input="cls", gate="renormalized"),
}


def prepare(name, cfg):
    h5 = os.path.join(OUT, f"{name}.h5")
    onnx_path = os.path.join(OUT, f"{name}.onnx")
    vm = os.path.join(OUT, f"{name}.vmoe")
    if not os.path.exists(vm):
        model = G.MobileVMoE(cfg).eval()
        G.randomize(model, torch.Generator().manual_seed(7), router_scale=6.0)
        G.write_h5(h5, dict(config=cfg, layout="dotted", dtypes={}), model.state_dict_timm())
        x = torch.randn(2, 3, cfg["image_size"], cfg["image_size"])
        torch.onnx.export(model, (x,), onnx_path, opset_version=17, dynamo=False, input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        subprocess.run([os.path.join(BIN, "vmoe-convert"), h5, vm, "--quiet"], check=True)
    return onnx_path, vm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows, results = [], []
    for name in a.models:
        onnx_path, vm = prepare(name, MODELS[name])
        for batch in a.batches:
            x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch)).numpy()
            xin = os.path.join(OUT, f"x{batch}.npy")
            np.save(xin, x)
            for t in a.threads:
                env = dict(os.environ, VMOE_THREADS=str(t))
                v = json.loads(subprocess.run([os.path.join(BIN, "vmoe"), "bench", vm, "--batch", str(batch),
                                               "--iterations", str(a.iterations), "--json"],
                                              check=True, capture_output=True, text=True, env=env).stdout)
                yo = os.path.join(OUT, "ort_out.npy")
                o = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "ort_run.py"), onnx_path, xin, str(t),
                                               str(a.iterations), yo], check=True, capture_output=True, text=True).stdout)
                yv = os.path.join(OUT, "vmoe_out.npy")
                subprocess.run([os.path.join(BIN, "vmoe"), "run", vm, "--input", xin, "--output", yv], check=True,
                               capture_output=True, env=env)
                diff = float(np.abs(np.load(yv) - np.load(yo)).max())
                r = dict(model=name, batch=batch, threads=t, vmoe=v, ort=o, max_abs_diff=diff,
                         speed_ratio=v["images_per_second"] / o["images_per_second"])
                results.append(r)
                rows.append(f"| {name} | {batch} | {t} | {v['images_per_second']:.1f} | {o['images_per_second']:.1f} | "
                            f"{r['speed_ratio']:.2f} | {v['peak_rss_mib']:.0f} | {o['peak_rss_mib']:.0f} | "
                            f"{v['load_seconds']*1000:.0f} | {o['load_seconds']*1000:.0f} | {diff:.1e} |")
    print("| model | batch | threads | vmoe img/s | ORT img/s | vmoe/ORT | vmoe RSS MiB | ORT RSS MiB | vmoe load ms | ORT load ms | max |Δ| |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
