"""`aekit export`: one part of a model as an ONNX graph, its scaling inside."""

from __future__ import annotations

import argparse

from ..arguments import add_model_dir
from ..inputs import load_model
from ..options import EXIT_OK, CommandError

NAME = "export"
HELP = "write the encoder, decoder, reconstruction or score as an ONNX graph"
EXAMPLE = """\
example:
  aekit export model -o encoder.onnx
  aekit export model -o score.onnx --part score

The graph takes rows in the training data's own units (codes, for the
decoder), any number of them, and holds the min-max scaling: onnxruntime alone
serves it. The model's facts (scaling, threshold, feature names) are in its
metadata. Needs pip install 'aekit[onnx]'. See docs/export.md."""

PARTS = ("encoder", "decoder", "reconstruct", "score")  # aekit.export.PARTS


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR, -o OUT, --part and --opset."""
    add_model_dir(p)
    p.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="the .onnx file to write"
    )
    p.add_argument(
        "--part",
        choices=PARTS,
        default="encoder",
        help="what the graph computes (default: encoder)",
    )
    p.add_argument(
        "--opset",
        type=int,
        default=None,
        metavar="N",
        help="ONNX opset to write (default: aekit.export.OPSET)",
    )


def run(args: argparse.Namespace) -> int:
    """Export --part of the model to -o and say what was written."""
    from ... import export

    if not str(args.output).endswith(".onnx"):
        raise CommandError(f"-o {args.output}: name the output file NAME.onnx")
    est = load_model(args.model)
    opset = export.OPSET if args.opset is None else args.opset
    try:
        path = export.to_onnx(est.fitted_, args.output, part=args.part, opset=opset)
    except ImportError as e:  # onnx / onnxruntime, the `onnx` extra
        raise CommandError(str(e)) from None
    print(
        f"wrote the {args.part} of {args.model} to {path} (ONNX opset {opset}; "
        "input in the data's own units, scaling inside)"
    )
    return EXIT_OK
