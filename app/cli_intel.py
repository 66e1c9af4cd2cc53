"""`flask intel …`: train the text model, measure it on held-out texts, classify texts from stdin.

Options are parsed here; the work is in `app.services.intel` and the pure `intel` library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli_types import SEEDS, seeds_text
from app.services import intel
from app.services.catalog import DEFAULT_FILE

intel_cli = AppGroup("intel", help="Report intelligence: the category from a report's words.")


@intel_cli.command("train")
@click.option("--categories", "categories_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_FILE, show_default=True, help="catalogue with names, definitions and phrases")
@click.option("--catalogue-only", is_flag=True, help="leave the district's verified cases out")
def train_cmd(categories_file, catalogue_only):
    """Train a new version from the catalogue and verified cases, and make it current."""
    name, model = intel.train_text_model(categories_file, with_history=not catalogue_only)
    click.echo(f"{name}: {len(model.categories)} categories, trained on {model.sources['catalogue']} catalogue "
               f"texts and {model.sources['history']} verified cases")


@intel_cli.command("eval")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=intel.EVAL_FILE, show_default=True, help="held-out texts: category<TAB>text per line")
@click.option("--json", "as_json", is_flag=True)
def eval_cmd(path, as_json):
    """Top-1 and top-3 accuracy of the current model on held-out texts, and what it confuses."""
    try:
        r = intel.evaluate_current(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({**r, "confusion": [{"true": t, "predicted": p, "n": n}
                                                   for (t, p), n in sorted(r["confusion"].items())]}))
        return
    click.echo(f"model {r['version']} on {r['n']} held-out texts ({path.name})")
    click.echo(f"  top-1 {r['top1']:.1%}   top-3 {r['top3']:.1%}")
    wrong = sorted(((n, t, p) for (t, p), n in r["confusion"].items() if t != p), reverse=True)
    if wrong:
        click.echo("  confused (true → suggested first: count)")
        for n, t, p in wrong:
            click.echo(f"    {t} → {p}: {n}")


@intel_cli.command("classify")
@click.option("-k", default=3, show_default=True, type=click.IntRange(1, 10))
def classify_cmd(k):
    """Read one report text per line on stdin; print one JSON object per line with the top-k categories."""
    lines = [line.rstrip("\n") for line in sys.stdin]
    texts = [t for t in lines if t.strip()]
    guesses = intel.suggest(texts, k)
    if guesses is None:
        raise click.ClickException("no text model yet: run `flask intel train`")
    for text, top in zip(texts, guesses, strict=True):
        click.echo(json.dumps({"text": text, "top": [{"category": g.category, "confidence": g.confidence}
                                                     for g in top]}, ensure_ascii=False))


@intel_cli.command("eval-duplicates")
@click.option("--seeds", type=SEEDS, default="201-210", show_default=True,
              help="generated districts to measure on (never 1–8: the weights were fitted on those)")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="default: DUPLICATE_THRESHOLD")
@click.option("--fit", "refit", is_flag=True, help="refit the weights on the tuning seeds 1–8 first and use them")
@click.option("--json", "as_json", is_flag=True)
def eval_duplicates_cmd(seeds, threshold, refit, as_json):
    """Precision and recall of the duplicate score on labelled generated reports, beside the old rule."""
    r = intel.evaluate_duplicates(seeds, threshold=threshold, refit=refit)
    if as_json:
        click.echo(json.dumps(r))
        return
    if refit:
        click.echo(f"refitted on tuning seeds: {r['weights']}")
    click.echo(f"duplicate score ≥ {r['threshold']} on {len(r['seeds'])} generated districts "
               f"(seeds {seeds_text(seeds)})")
    click.echo("  seed  reports  links P / R     pairs P / R     old rule P / R")
    for s in r["seeds"]:
        click.echo(f"  {s['seed']:>4}  {s['reports']:>7}  {s['links']['precision']:.3f} / {s['links']['recall']:.3f}"
                   f"   {s['pairwise']['precision']:.3f} / {s['pairwise']['recall']:.3f}"
                   f"   {s['old_rule']['precision']:.3f} / {s['old_rule']['recall']:.3f}")
    for kind, title in (("links", "links (each report to its best earlier case)"), ("pairwise", "all pairs"),
                        ("old_rule", "old rule (same category, 100 m, 24 h)")):
        m = r["summary"][kind]
        click.echo(f"  {title}: " + "   ".join(
            f"{k} {m[k]['mean']:.3f} [95 % CI {m[k]['ci95'][0]:.3f}, {m[k]['ci95'][1]:.3f}; "
            f"min {m[k]['min']:.3f}, max {m[k]['max']:.3f}]" for k in ("precision", "recall")))
