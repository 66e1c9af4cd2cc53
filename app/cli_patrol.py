"""`flask patrol …`: proactive discovery (未诉先办) — judge the forecast of where problems come next.

Options are parsed here; the work is in `app.services.forecast` and the pure `patrol` library.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.cli import domain_command
from app.cli_types import SEEDS, seeds_text
from patrol.evaluate import METHODS, SHARES

patrol_cli = AppGroup("patrol", help="Proactive discovery: the forecast of where problems come next.")
TITLES = {"forecast": "forecast (self-exciting, by place × hour of week)", "hotspot": "last month's hotspot map"}


@patrol_cli.command("forecast-eval")
@click.option("--seeds", type=SEEDS, default="201-210", show_default=True,
              help="generated districts to judge on (the forecast's settings were chosen on 1–8 only)")
@click.option("--db", "on_db", is_flag=True, help="judge on this platform's own case history instead")
@click.option("--weeks", type=click.IntRange(6, 104), default=16, show_default=True,
              help="weeks of generated history")
@click.option("--test-weeks", type=click.IntRange(1, 26), default=4, show_default=True,
              help="the last weeks, held out: refitted before each, judged day by day")
@click.option("--horizon-hours", type=click.FloatRange(1, 168), default=24.0, show_default=True,
              help="each forecast's window")
@click.option("--json", "as_json", is_flag=True)
@domain_command
def forecast_eval_cmd(seeds, on_db, weeks, test_weeks, horizon_hours, as_json):
    """Hit rate and PAI at 5 % and 10 % of the area, forecast beside last month's hotspot map, on held-out weeks."""
    if on_db:
        from app.services.forecast import evaluate

        r = evaluate(test_weeks=test_weeks, horizon_h=horizon_hours)
        if as_json:
            click.echo(json.dumps(r))
            return
        click.echo(f"this platform's cases since {r['since'][:10]}: {r['weeks']} weeks, {r['cells']} cells; "
                   f"last {test_weeks} weeks held out, {r['windows']} windows of {horizon_hours:g} h, "
                   f"{r['problems']} problems")
        for method in METHODS:
            click.echo(f"  {TITLES[method]}: " + "   ".join(
                f"{share:.0%} of area: hit rate {r[f'{method}_hit_{share:.2f}']:.3f}, "
                f"PAI {r[f'{method}_pai_{share:.2f}']:.2f}" for share in SHARES))
        return
    from patrol.evaluate import synthetic

    r = synthetic(seeds, weeks=weeks, test_weeks=test_weeks, horizon_h=horizon_hours)
    if as_json:
        click.echo(json.dumps(r))
        return
    click.echo(f"{len(seeds)} generated districts (seeds {seeds_text(seeds)}), {weeks} weeks each, the last "
               f"{test_weeks} held out, windows of {horizon_hours:g} h")
    click.echo("  seed  cells  problems  " + "  ".join(f"hit@{s:.0%} fc / hot" for s in SHARES))
    for s in r["seeds"]:
        click.echo(f"  {s['seed']:>4}  {s['cells']:>5}  {s['problems']:>8}  " + "  ".join(
            f"{s[f'forecast_hit_{share:.2f}']:.3f} / {s[f'hotspot_hit_{share:.2f}']:.3f}" for share in SHARES))
    m = r["summary"]
    for method in METHODS:
        for share in SHARES:
            hit, pai = m[f"{method}_hit_{share:.2f}"], m[f"{method}_pai_{share:.2f}"]
            click.echo(f"  {TITLES[method]}, {share:.0%} of area: hit rate {hit['mean']:.3f} "
                       f"[95 % CI {hit['ci95'][0]:.3f}, {hit['ci95'][1]:.3f}; min {hit['min']:.3f}, "
                       f"max {hit['max']:.3f}]  PAI {pai['mean']:.2f} [{pai['min']:.2f}, {pai['max']:.2f}]")
    for share in SHARES:
        ratio = m[f"ratio_{share:.2f}"]
        click.echo(f"  forecast ÷ hotspot hit rate at {share:.0%}: {ratio['mean']:.3f} "
                   f"[95 % CI {ratio['ci95'][0]:.3f}, {ratio['ci95'][1]:.3f}; min {ratio['min']:.3f}, "
                   f"max {ratio['max']:.3f}]")
