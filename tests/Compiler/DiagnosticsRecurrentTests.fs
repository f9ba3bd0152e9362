/// Misuse of the prelude's sequence layers (NN0460–NN0464, src/Compiler/Prelude/LayerChecks.fs) and of the
/// initializer of their recurrent weights (NN0465: `orthogonal` of fewer than two axes): each program with its exact
/// rendered diagnostic, at the user's argument.
module Nn.Tests.Compiler.DiagnosticsRecurrentTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Recurrent" [
        case "NN0460 lstm over a tensor of 2 axes" errors
            """
network t (x: [n, 4]) =
    x |> lstm 8
"""
            """
test.nn(2,5): error NN0460: `lstm` needs a sequence [n, t, f] (rows, steps, features), but this is [n, 4] (2 axes)
  |
2 |     x |> lstm 8
  |     ^"""

        case "NN0460 lastStep of a step" errors
            """
network t (x: [n, 5, 4]) =
    x |> lastStep |> lastStep
"""
            """
test.nn(2,5): error NN0460: `lastStep` needs a sequence [n, t, f] (rows, steps, features), but this is [n, 4] (2 axes)
  |
2 |     x |> lastStep |> lastStep
  |     ^^^^^^^^^^^^^"""

        case "NN0461 a variable number of steps" errors
            """
network t (x: [n, s, 4]) =
    x |> gru 3
"""
            """
test.nn(2,5): error NN0461: `gru` unrolls its steps, so their number must be fixed, but the steps of [n, s, 4] are `s`
  |
2 |     x |> gru 3
  |     ^"""

        case "NN0462 bidirectional of a dense layer" errors
            """
network t (x: [n, 5, 4]) =
    x |> bidirectional (dense 3)
"""
            """
test.nn(2,24): error NN0462: `bidirectional` needs a recurrent layer such as `(lstm 16)`, but this is `dense`
  |
2 |     x |> bidirectional (dense 3)
  |                        ^^^^^^^^^"""

        case "NN0463 rnn with 0 units" errors
            """
network t (x: [n, 5, 4]) =
    x |> rnn 0
"""
            """
test.nn(2,14): error NN0463: `rnn` needs the number of units as a positive whole number, got 0
  |
2 |     x |> rnn 0
  |              ^"""

        case "NN0463 embedding of a fractional vocabulary" errors
            """
network t (ids: [n, 5]) =
    ids |> embedding 10.5 4
"""
            """
test.nn(2,22): error NN0463: `embedding` needs the vocabulary size as a positive whole number, got 10.5
  |
2 |     ids |> embedding 10.5 4
  |                      ^^^^"""

        case "NN0464 embedding of a list" errors
            """
network t (ids: [n, 5]) =
    [ids] |> embedding 10 4
"""
            """
test.nn(2,5): error NN0464: `embedding` looks up whole-number ids (a tensor of ids 0..vocab-1), but this is a list
  |
2 |     [ids] |> embedding 10 4
  |     ^^^^^"""

        case "NN0465 an orthogonal vector" errors
            """
let layer (x: [n, k]) =
    param b : [k] = orthogonal
    x + b

network t (x: [n, 4]) =
    x |> layer
"""
            ("""
test.nn(2,21): error NN0465: the initializer `orthogonal` needs a tensor of two or more axes (a matrix), but"""
            + """ `param b` has 1
  |
2 |     param b : [k] = orthogonal
  |                     ^^^^^^^^^^""")

        case "NN0465 an orthogonal vector state" errors
            """
network t (x: [n, 4]) =
    state s : [4] = orthogonal
    x + s
"""
            ("""
test.nn(2,21): error NN0465: the initializer `orthogonal` needs a tensor of two or more axes (a matrix), but"""
            + """ `state s` has 1
  |
2 |     state s : [4] = orthogonal
  |                     ^^^^^^^^^^""")
    ]
