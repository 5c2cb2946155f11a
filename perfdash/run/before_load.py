"""The steps of a run before its load: the first word (RunStarted, with the load the tools' scripts
really plan), the preflight, whose results are published one by one and kept in preflight.json,
and the environment's seed step. Called by perfdash.run.orchestrator; each step that fails says
why in the run's record and returns False, so the run goes straight to its finish.
"""

from __future__ import annotations

from perfdash.artifacts import write_json_atomic
from perfdash.collect.remote_hosts import prometheus_preflight
from perfdash.events import PreflightChecked, RunStarted
from perfdash.run.datasteps import seed_step
from perfdash.run.load_plan import LoadPlan, load_plan
from perfdash.run.preflight import PreflightResult, ToolPlans, blocking, plan_tools, run_preflight
from perfdash.run.run_context import RunContext, RunState
from perfdash.tools import tools_for


def run_started(ctx: RunContext, st: RunState) -> RunStarted:
    """The run's first word, with its real planned load: the tools' plans are read first
    (preflight reuses them), and the tools it declares, so no screen guesses which will come."""
    st.early = plan_tools(ctx.profile, ctx.env, st.target, st.paths.root,
                          ctx.settings.project_dir)
    st.early_target = st.target
    plan = planned_load(ctx, st.early)
    return RunStarted(st.paths.run_id, str(st.paths.root), ctx.profile.name, ctx.env.name,
                      plan.seconds, plan=plan.words(), mode=ctx.profile.mode,
                      tools=tuple(t.name for t in tools_for(ctx.profile)))


def planned_load(ctx: RunContext, plans: ToolPlans) -> LoadPlan:
    return load_plan(ctx.profile.mode, [
        (tool.label, plans[tool.name][1] if tool.name in plans else None)
        for tool in tools_for(ctx.profile)])


def seed(ctx: RunContext, st: RunState) -> bool:
    """The environment's seed step before the load; a failed seed ends the run (exit 3)."""
    if ctx.env.seed_sql or ctx.env.seed_command:
        ctx.phase("seed", f"scale {ctx.env.seed_scale}")
    result = seed_step(ctx.env, st.target.database_url, st.paths, ctx.settings.project_dir,
                       st.log)
    publish_preflight(ctx, result)
    st.record.preflight.append(result.to_json())
    write_json_atomic(st.paths.preflight, st.record.preflight)
    if result.status == "fail":
        st.record.could_not_run = True
        st.record.problem(f"seed: {result.detail}", result.fix)
        return False
    return True


def preflight(ctx: RunContext, st: RunState) -> bool:
    ctx.phase("preflight")
    results = run_preflight(ctx.profile, ctx.env, st.target, st.paths.root,
                            ctx.settings.project_dir, ctx.env_file,
                            on_result=lambda r: publish_preflight(ctx, r), plans=st.plans,
                            known=st.early, replan=st.target is not st.early_target)
    for name, status, detail, fix in prometheus_preflight(ctx.env, ctx.profile):
        result = PreflightResult(name, "fail" if status == "fail" else
                                 "warn" if status == "warn" else "pass", detail, fix)
        publish_preflight(ctx, result)
        results.append(result)
    st.record.preflight = [r.to_json() for r in results]
    write_json_atomic(st.paths.preflight, st.record.preflight)
    failed = blocking(results)
    for r in failed:
        st.record.problem(f"preflight: {r.name}: {r.detail}", r.fix)
    st.record.could_not_run = bool(failed)
    return not failed


def publish_preflight(ctx: RunContext, r: PreflightResult) -> None:
    ctx.bus.publish(PreflightChecked(r.name, r.status != "fail", f"{r.status}: {r.detail}",
                                     r.fix))
