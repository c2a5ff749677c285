"""`sciriff`: one command, a subcommand per pipeline stage plus tools to look inside.

dvc.yaml calls these subcommands; params.yaml is read once here and each stage gets its section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sciriff.catalog import load_catalog, select_tasks
from sciriff.params import Params, ParamsError, load_params


def _tasks(params: Params, templates: str = "templates"):
    return select_tasks(load_catalog(templates), params.tasks, "tasks")


def cmd_ingest(args: argparse.Namespace, params: Params) -> None:
    from sciriff.ingest import run_ingest

    counts = run_ingest(_tasks(params), params.ingest)
    print(json.dumps(counts, indent=2))


def cmd_render(args: argparse.Namespace, params: Params) -> None:
    """With --task it writes nothing: it prints examples of one task as the model will see them, rendered at
    the time of the call from the task file (templates/<task>.yaml) on the ingested records (data/raw), so
    a template edit can be checked before `dvc repro`."""
    from sciriff.render import run_render

    if args.task:
        from sciriff.show import show_rendered

        task = select_tasks(load_catalog(), [args.task], "--task")[0]
        show_rendered(task, params, args.show, args.split, from_rendered=args.rendered)
        return
    manifest = run_render(_tasks(params), params.render, tokenizer_path="models/base")
    for name, stats in manifest.items():
        dropped = sum(stats["dropped_too_long"].values())
        print(f"{name:55s} {stats['splits']} dropped_too_long={dropped}")


def cmd_mix(args: argparse.Namespace, params: Params) -> None:
    from sciriff.mix import run_mix

    print(json.dumps(run_mix(params.mix), indent=2))


def cmd_base_model(args: argparse.Namespace, params: Params) -> None:
    from sciriff.base_model import build_base_model

    print(build_base_model(params.model, args.out))


def cmd_finetune(args: argparse.Namespace, params: Params) -> None:
    """Re-launched under accelerate when params finetune.distributed is not none. --show-mask trains nothing:
    it prints one mix example with the tokens that carry loss ⟦marked⟧."""
    if args.show_mask is not None:
        from sciriff.show import show_mask

        show_mask(params, args.show_mask)
        return
    from sciriff.finetune import launch, launch_command, run_finetune

    command = launch_command(params.finetune, args.params)
    if command:
        launch(command)
        return
    print(json.dumps(run_finetune(params.finetune), indent=2))


def cmd_predict(args: argparse.Namespace, params: Params) -> None:
    from sciriff.predict import run_predict

    if args.model not in params.models:
        raise ParamsError(f"--model {args.model}: not in params.yaml models {sorted(params.models)}")
    print(json.dumps(run_predict(args.model, params.models[args.model], params.predict), indent=2))


def cmd_score(args: argparse.Namespace, params: Params) -> None:
    from sciriff.score import run_score

    if args.model not in params.models:
        raise ParamsError(f"--model {args.model}: not in params.yaml models {sorted(params.models)}")
    document = run_score(args.model, params.score)
    print(json.dumps(document["headline"], indent=2))


def _model(args: argparse.Namespace, params: Params) -> str:
    if args.model not in params.models:
        raise ParamsError(f"--model {args.model}: not in params.yaml models {sorted(params.models)}")
    return params.models[args.model]


def cmd_general_predict(args: argparse.Namespace, params: Params) -> None:
    from sciriff.general import run_general_predict

    count = run_general_predict(args.model, _model(args, params), params.predict, params.general)
    print(json.dumps({"general_test": count}, indent=2))


def cmd_general_harness(args: argparse.Namespace, params: Params) -> None:
    from sciriff.harness import run_general_harness

    document = run_general_harness(args.model, _model(args, params), params.general, params.predict)
    print(json.dumps({name: entry["score"] for name, entry in document["tasks"].items()}, indent=2))


def cmd_general_score(args: argparse.Namespace, params: Params) -> None:
    from sciriff.general import compact_general, run_general_score

    _model(args, params)
    document = run_general_score(args.model, params.score.reference_model, params.score)
    print(json.dumps(compact_general(document), indent=2))


def cmd_compare(args: argparse.Namespace, params: Params) -> None:
    from sciriff.compare import comparison_table, run_compare

    print(comparison_table(run_compare(params.models, params.score.reference_model)))


def cmd_sciinstruct_ingest(args: argparse.Namespace, params: Params) -> None:
    from sciriff.sciinstruct.problems import run_problems

    print(json.dumps(run_problems(params.annotate), indent=2))


def cmd_annotate(args: argparse.Namespace, params: Params) -> None:
    from sciriff.sciinstruct.annotate import run_annotate

    print(json.dumps(run_annotate(params.annotate, params.score.judge), indent=2))


def cmd_quality_classifier(args: argparse.Namespace, params: Params) -> None:
    from sciriff.sciinstruct.classifier import run_quality_classifier

    print(json.dumps(run_quality_classifier(params.annotate)["classifier"], indent=2))


def cmd_sciinstruct_eval(args: argparse.Namespace, params: Params) -> None:
    from sciriff.sciinstruct.evaluate import run_science_eval

    if args.model not in params.models:
        raise ParamsError(f"--model {args.model}: not in params.yaml models {sorted(params.models)}")
    print(json.dumps(run_science_eval(args.model, params.models[args.model], params.annotate, params.predict),
                     indent=2))


def cmd_score_file(args: argparse.Namespace, params: Params) -> None:
    from sciriff.evaluation import score_file
    from sciriff.evaluation.judge import make_judge
    from sciriff.evaluation.official_prompts import load_judge_prompts

    official = load_judge_prompts(params.score.judge.prompts, params.score.judge.official_checkout)
    judge = make_judge(params.score.judge)
    result = score_file(Path(args.predictions), Path(args.out), compat=params.score.compat, judge=judge,
                        gold_dir=Path(args.gold) if args.gold else None, split=args.split, judge_prompts=official)
    for task, warnings in result["warnings"].items():
        for warning in warnings:
            print(f"warning: {task}: {warning}", file=sys.stderr)
    print(json.dumps(result["summary"], indent=2))


def cmd_synth(args: argparse.Namespace, params: Params) -> None:
    from sciriff.synth import run_synth

    print(json.dumps(run_synth(_tasks(params), args.raw, args.out, args.instances), indent=2))


def cmd_verify(args: argparse.Namespace, params: Params) -> None:
    """The paper's numbers are in data/reference/paper_table.json."""
    from sciriff.verify import run_verify

    metrics = Path(args.metrics)
    general = {"none": None, None: metrics.parent / "general" / metrics.name}.get(args.general, args.general)
    if not run_verify(args.metrics, args.row, args.tolerance, general_file=general,
                      general_tolerance=args.general_tolerance, check=args.check):
        raise SystemExit(1)


def cmd_tasks(args: argparse.Namespace, params: Params) -> None:
    """list: one row per task file (family, domains, source, held out or not, bundled sample size);
    validate: check every task file against the schema; pin: rewrite hub revisions as commits."""
    from sciriff.show import print_catalog

    if args.action == "pin":
        from sciriff.sources import pin_task_files

        changed = pin_task_files(args.manifest, args.templates)
        for path, old, new in changed:
            print(f"{path}: revision {old} -> {new}")
        source = json.loads(Path(args.manifest).read_text(encoding="utf-8")).get("ingest_source")
        note = "" if source == "hf" else f" (it records ingest.source: {source}; only hub sources are pinned)"
        print(f"pinned {len(changed)} task file(s) to the commits recorded in {args.manifest}{note}")
        return
    catalog = load_catalog(args.templates)
    if args.action == "validate":
        print(f"{len(catalog)} task files valid in {args.templates}/")
        return
    print_catalog(catalog, args.sample_dir, as_json=args.json)


COMMANDS = {
    "ingest": (cmd_ingest, "normalize source datasets into data/raw"),
    "render": (cmd_render, "render tasks through their templates into data/rendered (--task: preview one)"),
    "mix": (cmd_mix, "build the finetuning mixture in data/mix"),
    "base-model": (cmd_base_model, "fetch and convert the base model into models/base"),
    "finetune": (cmd_finetune, "finetune the base model on the mix into models/scitulu"),
    "predict": (cmd_predict, "generate predictions for the evaluation tasks"),
    "score": (cmd_score, "score a model's predictions into metrics/<model>.json"),
    "general-predict": (cmd_general_predict, "answer the held-out general instructions (general evaluation)"),
    "general-harness": (cmd_general_harness, "run the lm-evaluation-harness tasks of params general.harness_tasks"),
    "general-score": (cmd_general_score, "judge general answers against the reference model; harness retention"),
    "compare": (cmd_compare, "compare every model with the reference model"),
    "sciinstruct-ingest": (cmd_sciinstruct_ingest, "validate SciInstruct problems into data/sciinstruct/problems"),
    "annotate": (cmd_annotate, "self-reflective annotation of the SciInstruct train problems by a teacher"),
    "quality-classifier": (cmd_quality_classifier, "train the quality classifier; write the filtered SciInstruct set"),
    "sciinstruct-eval": (cmd_sciinstruct_eval, "science-reasoning accuracy of a model on the held-out problems"),
    "score-file": (cmd_score_file, "score external predictions ({task,id,prediction,reference,input} JSONL)"),
    "tasks": (cmd_tasks, "print, validate or pin (hub revisions to commits) the task catalog"),
    "verify": (cmd_verify, "compare a metrics file with the paper's table; non-zero exit outside tolerance"),
    "synth": (cmd_synth, "grow data/raw into a SciRIFF-sized corpus for benchmarks"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Option help ends with the option's default, where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sciriff", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {
        name: sub.add_parser(name, help=help_, formatter_class=HelpFormatter,
                             description=f"{help_[0].upper()}{help_[1:]}. {command.__doc__ or ''}".strip())
        for name, (command, help_) in COMMANDS.items()
    }
    parsers["render"].add_argument("--task", help="print examples of this task rendered now from its current "
                                   "template file on data/raw, instead of running the stage")
    parsers["render"].add_argument("--show", type=int, default=3, help="how many examples to print with --task")
    parsers["render"].add_argument("--split", default="train", help="which split to show with --task")
    parsers["render"].add_argument("--rendered", action="store_true", help="with --task: print what the last "
                                   "render wrote to data/rendered instead of rendering the template now")
    parsers["base-model"].add_argument("--out", default="models/base", help="checkpoint directory to write")
    parsers["finetune"].add_argument("--show-mask", type=int, metavar="N",
                                     help="print which tokens of mix example N carry loss, then exit")
    for name in ("predict", "score", "general-predict", "general-harness", "general-score", "sciinstruct-eval"):
        parsers[name].add_argument("--model", required=True, help="a model name from params.yaml `models`")
    parsers["score-file"].add_argument("--predictions", required=True, help="predictions JSONL")
    parsers["score-file"].add_argument("--out", required=True, help="directory for metrics.json and summary.json")
    parsers["score-file"].add_argument("--gold", help="rendered data directory (e.g. data/rendered): report gold ids "
                                       "with no prediction")
    parsers["score-file"].add_argument("--split", default="test", help="gold split under --gold")
    parsers["synth"].add_argument("--raw", default="data/raw", help="ingested sample to grow")
    parsers["synth"].add_argument("--out", required=True, help="directory for the synthetic raw corpus")
    parsers["synth"].add_argument("--instances", type=int, default=137_132, help="task instances in all")
    parsers["verify"].add_argument("--metrics", default="metrics/scitulu.json", help="a metrics/<model>.json file")
    parsers["verify"].add_argument("--row", default="SciTulu 7B", help="row of data/reference/paper_table.json")
    parsers["verify"].add_argument("--tolerance", type=float, default=1.0, help="points (0-100 scale)")
    parsers["verify"].add_argument("--general", help="metrics/general/<model>.json for the retention check "
                                   "(default: general/<name> beside --metrics; 'none': skip)")
    parsers["verify"].add_argument("--general-tolerance", type=float, default=2.0,
                                   help="largest allowed loss of general ability, percent of the reference's mean")
    parsers["verify"].add_argument("--check", choices=["all", "eval", "general"], default="all",
                                   help="SciRIFF-Eval vs the paper, general retention, or both")
    parsers["tasks"].add_argument("action", nargs="?", choices=["list", "validate", "pin"], default="list",
                                  help="pin: write the hub commits recorded by ingest into the task files")
    parsers["tasks"].add_argument("--manifest", default="data/raw/sources.json", help="for pin: ingest's manifest")
    parsers["tasks"].add_argument("--json", action="store_true", help="print the list as JSON")
    parsers["tasks"].add_argument("--templates", default="templates", help="directory of task files")
    parsers["tasks"].add_argument("--sample-dir", default="data/sample", help="bundled sample data, for sizes")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        params = load_params(args.params)
        COMMANDS[args.command][0](args, params)
    except (ValueError, RuntimeError, FileNotFoundError) as err:  # ParamsError, DataError, ... are ValueErrors
        print(f"sciriff {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
