"""`python -m curation.vocab [RECIPE] [--workdir DIR] [--fresh]`: build `workdir/tokenizer/` (see curation.vocab)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import add_common, run_main, verbosity


def main(argv: list[str] | None = None) -> int:
    """The command; its exit status (see the epilog)."""
    parser = argparse.ArgumentParser(
        prog="python -m curation.vocab",
        description="Extend the base tokenizer with the frequent Chinese characters of the curated data (ChatFlow).",
        epilog="Needs tokenizer.extend.enabled: true in the recipe (exit 2 otherwise). Exit 0: written; 2: recipe "
               "or data error, or workdir/tokenizer/ exists (--fresh rebuilds it).")
    add_common(parser, output=None, dry_run=None, fresh="rebuild workdir/tokenizer/ when it exists")
    parser.add_argument("--force", dest="fresh", action="store_true", help=argparse.SUPPRESS)  # the old name
    args = parser.parse_args(argv)
    # heavy imports after parsing, so that --help answers at once
    from rich.console import Console

    from common.recipe import Recipe, RecipeError
    from curation.vocab import VocabError
    from curation.vocab.extend import extend_vocabulary

    console = Console(stderr=True)

    def run() -> int:
        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).resolve())
        quiet = verbosity(args) < 0
        result = extend_vocabulary(recipe, force=args.fresh, console=None if quiet else console)
        console.print(f"wrote {recipe.workdir / 'tokenizer'} ({len(result['added'])} new tokens)")
        return 0

    return run_main(run, prog="curation.vocab", user_errors=(RecipeError, VocabError),
                    interrupted="while building the tokenizer (nothing was replaced)")


if __name__ == "__main__":
    sys.exit(main())
