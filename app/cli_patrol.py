"""`flask patrol …`: proactive discovery (未诉先办) — judge the forecast of where problems come next, compare
patrol policies in the simulator.

Options are parsed here; the work is in `app.services.forecast` and the pure `patrol` library.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.cli import domain_command
from app.cli_types import SEEDS, seeds_text
from patrol.evaluate import METHODS, SHARES
from patrol.simulate import POLICIES

patrol_cli = AppGroup("patrol", help="Proactive discovery: the forecast of where problems come next.")
SIM_FIGURES = (("proactive_share", "found before a citizen report (主动发现率)", "{:.3f}"),
               ("discovery_h", "hours from appearance to discovery", "{:.2f}"),
               ("reported_close_h", "hours from a citizen's report to the fix", "{:.2f}"),
               ("patrol_hours_per_day", "patrol hours a day", "{:.1f}"),
               ("task_use", "share of duty time on cases", "{:.3f}"))
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


@patrol_cli.command("simulate")
@click.option("--seeds", type=SEEDS, default="201-210", show_default=True,
              help="generated districts (the planner's settings were looked at on 1–8 only)")
@click.option("--days", type=click.IntRange(1, 28), default=7, show_default=True, help="measured days per district")
@click.option("--policies", default=",".join(POLICIES), show_default=True)
@click.option("--load", type=click.FloatRange(0.1, 0.99), default=0.85, show_default=True,
              help="the field force's use by case work alone")
@click.option("--processes", type=click.IntRange(1, 64), default=None, help="default: one per core")
@click.option("--json", "as_json", is_flag=True)
def simulate_cmd(seeds, days, policies, load, processes, as_json):
    """Patrol policies on simulated days where problems wait unseen until a citizen, a camera or an inspector
    finds them: the share found before a citizen report, time to discovery, time to fix reported cases."""
    import os

    from patrol.simulate import evaluate

    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    if unknown := set(chosen) - set(POLICIES):
        raise click.BadParameter(f"unknown {sorted(unknown)}: use {', '.join(POLICIES)}", param_hint="--policies")
    r = evaluate(seeds, chosen, processes=processes or os.cpu_count() or 1, days=days, load=load)
    if as_json:
        click.echo(json.dumps(r, default=float))
        return
    click.echo(f"{len(seeds)} generated districts (seeds {seeds_text(seeds)}), {days} measured days each, "
               f"field force sized to {load:.0%} load by case work")
    m = r["summary"]
    for policy in chosen:
        click.echo(f"  {policy}:")
        for figure, title, fmt in SIM_FIGURES:
            v = m[policy][figure]
            click.echo(f"    {title:<42} {fmt.format(v['mean'])}  [95 % CI {fmt.format(v['ci95'][0])}, "
                       f"{fmt.format(v['ci95'][1])}; min {fmt.format(v['min'])}, max {fmt.format(v['max'])}]")
    for figure, title in (("discovery_h", "time to discovery"), ("reported_close_h", "time to fix reported cases")):
        if (v := m.get(f"forecast_vs_none_{figure}")) is not None:
            click.echo(f"  forecast ÷ none, {title}: {v['mean']:.3f} [95 % CI {v['ci95'][0]:.3f}, "
                       f"{v['ci95'][1]:.3f}; min {v['min']:.3f}, max {v['max']:.3f}]")


@patrol_cli.command("plan")
@click.option("--now", "plan_now", is_flag=True, help="run the planning step first (as the periodic job does)")
@domain_command
def plan_cmd(plan_now):
    """The active patrol rounds: who rides which blocks, by when, and what they are expected to find."""
    from app.services import patrol

    if plan_now:
        click.echo("planning: " + ", ".join(f"{k} {v}" for k, v in patrol.plan_idle().items()))
    rounds = patrol.active_rounds()
    if not rounds:
        click.echo("no active rounds (inspectors on duty with no task get one from the job plan_patrols)")
    for r in rounds:
        click.echo(f"{r['inspector']}: {len(r['stops'])} blocks in {r['minutes']} min, expected {r['value']:.2f}, "
                   f"{r['done']} looked at, planned {r['planned']}")
        for i, s in enumerate(r["stops"], 1):
            click.echo(f"  {i:>2}. {s['cell']}  {s['lat']:.5f}, {s['lon']:.5f}  by {s['by']}"
                       f"{'  ✓' if s['looked'] else ''}")
