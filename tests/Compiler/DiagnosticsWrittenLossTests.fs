/// Losses written in the language (issue #19.1) that cannot be used: not a function (NN0408), not a function of two
/// arguments (NN0430), a result that is neither a scalar nor one value per row (NN0431), a `param` inside (NN0432),
/// and a shape error inside the function, reported at its expression (NN0201), all found by `nn check`.
module Nn.Tests.Compiler.DiagnosticsWrittenLossTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

/// An iris classifier ([n, 3] from a label column, so the target is [n]) with `defs` before it and `loss`.
let private iris (defs: string) (loss: string) =
    "\n" + defs + (if defs = "" then "" else "\n")
    + "network iris (x: [n, 4]) : [n, 3] =\n    x |> dense 3\n\ntrain iris {\n"
    + "    data = csv \"data/iris.csv\" { features = [0; 1; 2; 3]; label = \"species\" }\n"
    + sprintf "    loss = %s\n}\n" loss

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.WrittenLoss" [
        case "NN0408 a loss that is neither a built-in nor a function" errors (iris "" "3.0")
            ("""
test.nn(6,12): error NN0408: `loss` is one of mse, mae, huber, binaryCrossEntropy, softmaxCrossEntropy, crossEntropy,"""
             + """ or a function of the prediction and the target (`fun p t -> ...`), but this is a number
  |
6 |     loss = 3.0
  |            ^^^""")

        case "NN0430 a `fun` of one argument" errors (iris "" "fun p -> meanAll p")
            ("""
test.nn(6,12): error NN0430: a loss is a function of the prediction and the target, such as"""
             + """ `fun p t -> meanAll (square (p - t))`, but `fun p` takes 1 argument
  |
6 |     loss = fun p -> meanAll p
  |            ^^^^^^^^^^^^^^^^^^""")

        case "NN0430 a `let` function of three arguments, with a note at the function" errors
            (iris "let twice s p t = s * meanAll (square (p - t))" "twice")
            ("""
test.nn(7,12): error NN0430: a loss is a function of the prediction and the target, such as"""
             + """ `fun p t -> meanAll (square (p - t))`, but `twice` takes 3 arguments
  |
7 |     loss = twice
  |            ^^^^^
test.nn(1,1): note: the function is here
  |
1 | let twice s p t = s * meanAll (square (p - t))
  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0431 one value per class, not per row: found by `nn check` with the label column's [n]" errors
            (iris "let perClass p t = abs (p - oneHot 3 t)" "perClass")
            ("""
test.nn(7,12): error NN0431: the loss `perClass` must compute a scalar or one value per row ([n] or [n, 1]),"""
             + """ but it computes [n, 3] for a prediction [n, 3]
  |
7 |     loss = perClass
  |            ^^^^^^^^
test.nn(2,28): note: the output of `iris` is declared here
  |
2 | network iris (x: [n, 4]) : [n, 3] =
  |                            ^^^^^^
   = note: the data gives targets of shape [n]""")

        case "NN0431 a loss that computes a number, not a tensor" errors (iris "" "fun p t -> 1.0")
            ("""
test.nn(6,12): error NN0431: the loss `fun p t` must compute a tensor (a scalar, or one value per row) from the"""
             + """ prediction and the target, but it computes a number
  |
6 |     loss = fun p t -> 1.0
  |            ^^^^^^^^^^^^^^""")

        case "NN0432 a loss that declares a param" errors
            (iris "let weighted p t =\n    param w : [3] = ones\n    meanAll (square (p - oneHot 3 t) * w)" "weighted")
            ("""
test.nn(9,12): error NN0432: the loss `weighted` declares a `param` or a `state`; a loss only compares the"""
             + """ prediction with the target (declare weights inside the network)
  |
9 |     loss = weighted
  |            ^^^^^^^^
test.nn(1,1): note: the function is here
  |
1 | let weighted p t =
  | ^^^^^^^^^^^^^^^^^^""")

        case "NN0201 p and t that do not broadcast, at the expression inside the loss" errors
            (iris "" "fun p t -> meanAll (square (p - oneHot 4 t))")
            ("""
test.nn(6,40): error NN0201: the operands of `-` cannot be broadcast together: the left side is [n, 3] and the"""
             + """ right side is [n, 4] (axis 1 of the result: 3 vs 4)
  |
6 |     loss = fun p t -> meanAll (square (p - oneHot 4 t))
  |                                        ^^^^^^^^^^^^^^""")
    ]
