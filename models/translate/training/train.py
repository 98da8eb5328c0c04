"""Train the German->English translation model on Multi30k task 1.

    python -m models.translate.training.train --name main --epochs 20
    python -m models.translate.training.train --name no_copy --no-copy        # an ablation run
    python -m models.translate.training.train --name bpe --subwords 8000     # joint BPE pieces instead of words
    python -m models.translate.training.train --name copy_ft --init checkpoints/translate_main.safetensors \
        --copy-aug 0.8 --copy-append 0.4 --lr 2.5e-4 --epochs 3        # fine-tune with injected names
    python -m models.translate.training.train --name kd --init checkpoints/translate.safetensors \
        --targets runs/translate/distill.en ...                      # learn the ensemble's outputs (distill.py)

Resumable: the state (model, optimizer, epoch, batch, best score) is saved to runs/translate/<name>/
every --save-every batches and at each epoch's end; rerunning the same command continues. Batch order
is a pure function of (seed, epoch), so a resumed epoch sees the same batches. The best epoch by
validation BLEU (greedy, sacreBLEU) is written to --out (default checkpoints/translate_<name>.safetensors).
Every epoch's weights also go to runs/translate/<name>/epoch-<n>.safetensors (about 15 MB each), for
checkpoint averaging (models/translate/training/average.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import sacrebleu
import torch

from models.training.checkpoints import resume_run_state, save_run_state, start_run
from models.training.paths import default_data_dir
from models.translate.subwords import Subwords, words_of
from models.translate.training.checkpoint import load_checkpoint, read_subwords, save_checkpoint
from models.translate.training.data import batches, inject_names, read_split, segmented, tokenized
from models.translate.training.model import Seq2Seq, Seq2SeqConfig
from models.translate.training.torch_search import translate_tokens
from models.translate.vocab import Vocab, detokenize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="main", help="run name: state in runs/translate/<name>/")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding multi30k/ (default: ../shared/data)")
    p.add_argument("--out", type=Path, default=None, help="best checkpoint (default checkpoints/translate_<name>.safetensors)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--max-tokens", type=int, default=1500, help="target tokens per batch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--sample-prob", type=float, default=0.0, help="scheduled sampling: final probability (linear ramp)")
    p.add_argument("--no-copy", action="store_true", help="plain attention decoder, no pointer-generator")
    p.add_argument("--enc-layers", type=int, default=1, help="bidirectional GRU layers in the encoder (residual past the first)")
    p.add_argument("--copy-aug", type=float, default=0.0, help="probability of swapping a shared name/number (see data.py)")
    p.add_argument("--copy-append", type=float, default=0.0, help="probability of inserting a made-up name (see data.py)")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights and vocabularies")
    p.add_argument("--targets", type=Path, default=None,
                   help="train on these English targets instead of the references (distill.py's output)")  # fmt: skip
    p.add_argument("--min-freq", type=int, default=2)
    p.add_argument("--subwords", type=int, default=0,
                   help="pieces of a joint German-English BPE learned on train (sentencepiece); 0: whole words")  # fmt: skip
    p.add_argument("--max-len", type=int, default=50, help="drop training pairs longer than this (tokens)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--limit", type=int, default=None, help="use only the first N training pairs (smoke runs)")
    return p.parse_args(argv)


def val_bleu(model: Seq2Seq, data_dir: Path, src: Vocab, tgt: Vocab, subwords: Subwords | None = None) -> tuple[float, float]:
    _, refs = read_split(data_dir, "val")
    outputs = translate_tokens(model, segmented(tokenized(data_dir, "val"), subwords), src, tgt)
    hyps = [detokenize(words_of(t, subwords), "en") for t in outputs]
    return sacrebleu.corpus_bleu(hyps, [refs]).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def main() -> None:
    args = parse_args()
    data_dir = args.data_dir or default_data_dir()
    run, out = start_run("translate", args)
    train = tokenized(data_dir, "train", max_len=args.max_len, targets=args.targets)[: args.limit]
    if args.init:
        model, src, tgt = load_checkpoint(args.init)
        subwords = read_subwords(args.init)
    else:
        subwords = Subwords.learn([s for e in train for s in (e.src, e.tgt)], args.subwords) if args.subwords else None
        pieces = segmented(train, subwords)
        src = Vocab.build([e.src for e in pieces], args.min_freq)
        tgt = Vocab.build([e.tgt for e in pieces], args.min_freq)
        model = Seq2Seq(Seq2SeqConfig(len(src), len(tgt), copy=not args.no_copy, enc_layers=args.enc_layers))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = {"epoch": 0, "batch": 0, "best": -1.0, "lr": args.lr, "bad_epochs": 0, "history": []}
    resumed = resume_run_state(run, model, opt)
    if resumed is not None:
        state = resumed
        print(f"resumed: epoch {state['epoch']} batch {state['batch']} best {state['best']:.2f}", flush=True)

    def save() -> None:
        save_run_state(run, model, opt, state)

    while state["epoch"] < args.epochs:
        epoch = state["epoch"]
        sample_prob = args.sample_prob * epoch / max(1, args.epochs - 1)
        for g in opt.param_groups:
            g["lr"] = state["lr"]
        model.train()
        t0, total, count = time.time(), 0.0, 0
        seed = args.seed * 1000 + epoch
        augment = args.copy_aug or args.copy_append
        examples = segmented(inject_names(train, args.copy_aug, seed, args.copy_append) if augment else train, subwords)
        stream = batches(examples, src, tgt, args.max_tokens, seed=seed)
        for i, b in enumerate(itertools.islice(stream, state["batch"], None), start=state["batch"]):
            tensors = [torch.from_numpy(a) for a in (b.src, b.src_len, b.src_ext, b.tgt_in, b.tgt_out)]
            loss = model(*tensors, b.n_oov, args.label_smoothing, sample_prob)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total, count = total + loss.item(), count + 1
            state["batch"] = i + 1
            if state["batch"] % args.save_every == 0:
                save()
                print(f"epoch {epoch} batch {state['batch']} loss {total / count:.3f} {time.time() - t0:.0f}s", flush=True)
        bleu, chrf = val_bleu(model, data_dir, src, tgt, subwords)
        state["history"].append({"epoch": epoch, "val_bleu": round(bleu, 2), "val_chrf": round(chrf, 2),
                                 "lr": state["lr"], "sample_prob": round(sample_prob, 3)})  # fmt: skip
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: val BLEU {bleu:.2f} chrF {chrf:.2f}", flush=True)
        extra = {"epoch": epoch, "val_bleu": round(bleu, 2), "args": json.dumps(vars(args), default=str)}
        save_checkpoint(model, src, tgt, run / f"epoch-{epoch}.safetensors", extra, subwords)
        if bleu > state["best"]:
            state["best"], state["bad_epochs"] = bleu, 0
            save_checkpoint(model, src, tgt, out, extra, subwords)
            print(f"saved {out}", flush=True)
        else:
            state["bad_epochs"] += 1
            state["lr"] /= 2  # halve on a plateau: cheap, and robust for small RNN models
        state["epoch"], state["batch"] = epoch + 1, 0
        save()


if __name__ == "__main__":
    main()
