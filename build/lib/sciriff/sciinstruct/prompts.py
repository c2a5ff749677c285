"""The prompts of SciGLM's self-reflective annotation (arXiv 2401.07950, Jan-2024 figure), in English.

Round 1 (`cot`): solve step by step. Round 2 (`reflect`): the teacher sees its wrong solution and the
correct final answer, reflects, then writes a corrected solution after `Correct solution:` (the
released code's "反思 ... 正确解答 ..." format; the text after the marker is the solution). Round 3
(`answer`): the prompt gives the answer and asks for a solution that reaches it ("Prompt Answer").
`problem_prompt` is also the user turn of the mixed training data and of the science evaluation, so
that the format a model learns is the format it is measured in.
"""

from __future__ import annotations

import re

from sciriff.sciinstruct.checker import LETTERS

ROUNDS = ("cot", "reflect", "answer")
SOLUTION_MARKER = "Correct solution:"


def problem_prompt(problem: dict) -> str:
    """The question with its options and the answer-format instruction."""
    lines = [f"Solve the following {problem['subject']} problem step by step.", "", problem["question"].strip()]
    choices = problem.get("choices") or []
    if choices and any(c != LETTERS[i] for i, c in enumerate(choices)):  # hub problems: options in the question
        lines += [""] + [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(choices)]
    form = {"mc": "the letter of the correct option", "numeric": "a number with its unit, if it has one",
            "expression": "a formula"}[problem["answer_type"]]
    lines += ["", f"End with a last line of the form `Final answer: <answer>`, where <answer> is {form}."]
    return "\n".join(lines)


def reflection_prompt(problem: dict, wrong_solution: str) -> str:
    """Round 2: the wrong solution and the correct final answer; reflect, then correct."""
    return (
        f"{problem_prompt(problem)}\n\n"
        f"A previous solution was:\n{wrong_solution.strip() or '(no solution)'}\n\n"
        f"That solution is wrong: the correct final answer is {problem['answer']}. Reflect on where the "
        "previous solution went wrong, then solve the problem again correctly. Use this format:\n"
        f"Reflection: <what went wrong>\n{SOLUTION_MARKER} <a step-by-step solution ending with "
        "`Final answer: <answer>`>"
    )


def answer_prompt(problem: dict) -> str:
    """Round 3: the answer is given; write a solution that reaches it."""
    return (
        f"{problem_prompt(problem)}\n\n"
        f"The correct final answer is {problem['answer']}. Write a clear step-by-step solution that "
        "arrives at this answer, and end with `Final answer: <answer>`."
    )


def round_prompt(kind: str, problem: dict, last_solution: str) -> str:
    if kind == "cot":
        return problem_prompt(problem)
    if kind == "reflect":
        return reflection_prompt(problem, last_solution)
    return answer_prompt(problem)


def solution_from_reply(kind: str, reply: str) -> str:
    """The solution part of a teacher reply: after `Correct solution:` for reflections, else all of it."""
    text = reply.strip()
    if kind == "reflect":
        parts = re.split(re.escape(SOLUTION_MARKER), text, maxsplit=1, flags=re.IGNORECASE)
        text = parts[1].strip() if len(parts) == 2 else text
    return text
