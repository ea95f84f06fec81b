"""`python -m curation.vocab RECIPE [--workdir DIR] [--force]`: build `workdir/tokenizer/` (see curation.vocab)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

import curation.vocab
from common.recipe import Recipe, RecipeError
from curation.vocab import VocabError
from curation.vocab.extend import extend_vocabulary


def main(argv: list[str] | None = None) -> int:
    """The command; its exit status (see the epilog)."""
    about = curation.vocab.__doc__.splitlines()
    parser = argparse.ArgumentParser(
        prog="python -m curation.vocab", description=about[0] + " " + about[1],
        epilog="Needs tokenizer.extend.enabled: true in the recipe (exit 2 otherwise). Exit 0: written; 2: recipe "
               "or data error, or workdir/tokenizer/ exists (--force rebuilds it).")
    parser.add_argument("recipe", help="recipe YAML with a `tokenizer` section")
    parser.add_argument("--workdir", help="override the recipe's workdir")
    parser.add_argument("--force", action="store_true", help="rebuild workdir/tokenizer/ when it exists")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).resolve())
        result = extend_vocabulary(recipe, force=args.force, console=console)
    except (RecipeError, VocabError) as err:
        console.print(f"error: {err}", style="red", markup=False, soft_wrap=True)
        return 2
    console.print(f"wrote {recipe.workdir / 'tokenizer'} ({len(result['added'])} new tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
