"""The container's entry point: ``python -m pitwall_image train|serve|verify``.

SageMaker starts a training container as ``docker run IMAGE train`` and an inference container
as ``docker run IMAGE serve``; the Dockerfile's ``ENTRYPOINT`` is this module. A training job
whose ``kind`` hyper-parameter is ``marketplace_verification`` runs ``verify``
(:mod:`pitwall_image.verify`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = ("train", "serve", "verify")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        got = repr(args[0]) if args else "nothing"
        print(f"usage: pitwall_image {{{'|'.join(COMMANDS)}}} (got {got})", file=sys.stderr)
        return 2
    if args[0] == "verify" or args[0] == "train":
        from pitwall_image.verify import is_verification_job
        from pitwall_image.verify import main as verify_main

        if args[0] == "verify" or is_verification_job():
            return verify_main(args[1:])
    if args[0] == "train":
        from pitwall_image.train import main as train_main

        return train_main(args[1:])
    from pitwall_image.serve import main as serve_main

    return serve_main(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
