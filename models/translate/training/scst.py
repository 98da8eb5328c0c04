"""Sequence-level training of the translation model, from a trained checkpoint: self-critical sequence
training (Rennie et al. 2017) or minimum risk training (Shen et al. 2016, `--objective mrt`).

    python -m models.translate.training.scst [--init checkpoints/translate.safetensors] [--reward bleu]
    python -m models.translate.training.scst --name mrt --objective mrt [--mrt-alpha 0.005]

For each training sentence, --samples translations are sampled from the model (copy mechanism included:
sampling is from the final distribution over the extended vocabulary) and each is rewarded with its
sentence BLEU (sacreBLEU, exponential smoothing) or chrF against the reference, detokenized as the server
answers. The baseline is the greedy translation's reward (`--baseline greedy`) or the mean of the
sentence's other samples (`--baseline mean`). `--xe-weight` mixes in the usual teacher-forced
cross-entropy (label smoothed), which keeps fluency from drifting (Wu et al. 2016 mix the two likewise).
With `--objective mrt` the loss is instead the expected risk (1 - reward) over each sentence's distinct
samples under the model's renormalized, alpha-sharpened distribution (no baseline).

Samples are drawn with dropout off (the model as served). Every --val-every batches and at each epoch's
end, val is translated greedily; the best val BLEU goes to --out (a copy of --init until something beats
it). Resumable: state in runs/translate/<name>/, rerunning the same command continues at the batch it
stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import sacrebleu
import torch

from models.tokens import EOS_ID
from models.training.checkpoints import resume_run_state, save_run_state, start_run
from models.training.paths import default_data_dir
from models.training.sequence_level import baseline, distinct, reinforce_loss, risk_loss
from models.translate.subwords import Subwords, words_of
from models.translate.training.checkpoint import load_checkpoint, read_subwords, save_checkpoint
from models.translate.training.data import Batch, Example, example_groups, make_batch, segmented, tokenized
from models.translate.training.model import Seq2Seq
from models.translate.training.torch_search import rollout
from models.translate.training.train import val_bleu
from models.translate.vocab import Vocab, detokenize, extend

Reward = Callable[[str, str], float]
REWARDS: dict[str, Reward] = {
    "bleu": lambda hyp, ref: sacrebleu.sentence_bleu(hyp, [ref]).score / 100,
    "chrf": lambda hyp, ref: sacrebleu.sentence_chrf(hyp, [ref]).score / 100,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", type=Path, default=Path("checkpoints/translate.safetensors"))
    p.add_argument("--name", default="scst")
    p.add_argument("--out", type=Path, default=None, help="default: checkpoints/translate_<name>.safetensors")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding multi30k/ (default: ../shared/data)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=600, help="reference tokens per batch (each sampled --samples times)")
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--objective", choices=["scst", "mrt"], default="scst")
    p.add_argument("--mrt-alpha", type=float, default=0.005, help="mrt: Q(y) ~ p(y)^alpha (Shen et al. use 5e-3)")
    p.add_argument("--baseline", choices=["greedy", "mean"], default="greedy", help="scst only")
    p.add_argument("--reward", choices=sorted(REWARDS), default="bleu")
    p.add_argument("--xe-weight", type=float, default=0.0, help="weight of the cross-entropy term (0 = pure SCST)")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--val-every", type=int, default=200, help="batches between validations")
    p.add_argument("--max-len", type=int, default=50, help="drop training pairs longer than this (tokens)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training pairs (smoke runs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def to_text(rows: torch.Tensor, examples: list[Example], tgt: Vocab, repeats: int, subwords: Subwords | None = None) -> list[str]:
    """Detokenized translations, cut at </s>; row i belongs to examples[i // repeats]."""
    out = []
    for i, row in enumerate(rows.tolist()):
        ex = examples[i // repeats]
        words = tgt.itos + extend(ex.src, tgt)[1]
        row = row[: row.index(EOS_ID)] if EOS_ID in row else row
        out.append(detokenize(words_of([words[j] for j in row], subwords), "en"))
    return out


def policy_loss(
    model: Seq2Seq,
    examples: list[Example],
    tgt: Vocab,
    batch: Batch,
    reward: Reward,
    args: argparse.Namespace,
    subwords: Subwords | None = None,
) -> tuple[torch.Tensor, float, float]:
    """REINFORCE with a baseline over --samples translations per sentence; the loss and the mean reward of
    the samples and of the baseline."""
    k = args.samples
    refs = [detokenize(words_of(ex.tgt, subwords), "en") for ex in examples]
    model.eval()
    ids, logp = rollout(model, batch, k, greedy=False)
    rewards = torch.tensor([reward(h, refs[i // k]) for i, h in enumerate(to_text(ids, examples, tgt, k, subwords))])
    if getattr(args, "objective", "scst") == "mrt":
        loss = risk_loss(rewards, logp, distinct(ids, k), k, args.mrt_alpha)
        return loss, float(rewards.mean()), float(rewards.mean())
    greedy = None
    if args.baseline == "greedy":
        with torch.no_grad():
            best, _ = rollout(model, batch, 1, greedy=True)
        greedy = torch.tensor([reward(h, refs[i]) for i, h in enumerate(to_text(best, examples, tgt, 1, subwords))])
    base = baseline(rewards, k, greedy)
    tokens = sum(min(len(r), [*r, EOS_ID].index(EOS_ID) + 1) for r in ids.tolist())
    return reinforce_loss(rewards, base, logp, tokens), float(rewards.mean()), float(base.mean())


def main() -> None:
    args = parse_args()
    data_dir = args.data_dir or default_data_dir()
    run, out = start_run("translate", args)
    model, src, tgt = load_checkpoint(args.init)
    subwords = read_subwords(args.init)
    train = segmented(tokenized(data_dir, "train", max_len=args.max_len)[: args.limit], subwords)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = resume_run_state(run, model, opt)
    if state is None:
        bleu, chrf = val_bleu(model, data_dir, src, tgt, subwords)
        print(f"start ({args.init}): val greedy BLEU {bleu:.2f} chrF {chrf:.2f}", flush=True)
        state = {"epoch": 0, "batch": 0, "best": bleu, "history": [{"epoch": -1, "val_bleu": round(bleu, 2)}]}
        if out.resolve() != args.init.resolve():
            shutil.copyfile(args.init, out)  # --out always holds the best so far, the start included
    reward = REWARDS[args.reward]

    def validate() -> None:
        bleu, chrf = val_bleu(model, data_dir, src, tgt, subwords)
        state["history"].append({"epoch": state["epoch"], "batch": state["batch"], "val_bleu": round(bleu, 2),
                                 "val_chrf": round(chrf, 2)})  # fmt: skip
        print(f"epoch {state['epoch']} batch {state['batch']}: val greedy BLEU {bleu:.2f} chrF {chrf:.2f}", flush=True)
        if bleu > state["best"]:
            state["best"] = bleu
            extra = {"epoch": state["epoch"], "batch": state["batch"], "val_bleu": round(bleu, 2),
                     "args": json.dumps(vars(args), default=str)}  # fmt: skip
            save_checkpoint(model, src, tgt, out, extra, subwords)
            print(f"saved {out}", flush=True)

    while state["epoch"] < args.epochs:
        groups = example_groups(train, args.max_tokens, seed=args.seed * 1000 + state["epoch"])
        t0, rewards, bases = time.time(), [], []
        for group in groups[state["batch"] :]:
            examples = [train[i] for i in group]
            batch = make_batch(examples, src, tgt)
            loss, r, b = policy_loss(model, examples, tgt, batch, reward, args, subwords)
            if args.xe_weight:
                model.train()
                tensors = [torch.from_numpy(a) for a in (batch.src, batch.src_len, batch.src_ext, batch.tgt_in, batch.tgt_out)]
                loss = loss + args.xe_weight * model(*tensors, batch.n_oov, 0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            rewards.append(r)
            bases.append(b)
            state["batch"] += 1
            if state["batch"] % 20 == 0:
                print(f"epoch {state['epoch']} batch {state['batch']}/{len(groups)} reward {sum(rewards) / len(rewards):.4f} "
                      f"baseline {sum(bases) / len(bases):.4f} {time.time() - t0:.0f}s", flush=True)  # fmt: skip
                save_run_state(run, model, opt, state)
            if state["batch"] % args.val_every == 0:
                validate()
                save_run_state(run, model, opt, state)
        if state["batch"] % args.val_every:  # else the last batch has just been validated
            validate()
        state["epoch"], state["batch"] = state["epoch"] + 1, 0
        save_run_state(run, model, opt, state)


if __name__ == "__main__":
    main()
