/// Errors in `metrics` and in monitors of metrics (NN0409, NN0412, NN0404, NN0433, NN0210), found by `nn check`
/// without reading data, each at the item or the value that is wrong.
module Nn.Tests.Compiler.DiagnosticsMetricsTests

open Expecto
open Nn.Compiler
open Nn.Tests.Compiler.DiagnosticsHelpers

/// A classifier of three classes trained with `fields` (each on its own line).
let private classifier (fields: string) =
    "network t (x: [n, 2]) : [n, 3] =\n    x |> dense 3\n\ntrain t {\n    data = rows [ [0; 0], [0] ]\n"
    + "    loss = softmaxCrossEntropy\n" + fields + "\n}\n"

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Metrics" [
        test "every metric and monitor form of the docs compiles" {
            let regression =
                "let mape (p: [n, 1]) (t: [n, 1]) = meanAll (abs (p - t) / t)\n\n"
                + "network t (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\ntrain t {\n    data = rows [ [0; 0], [1] ]\n"
                + "    loss = mse\n    metrics = [mae; mse; rmse; r2; mape]\n"
                + "    stop = earlyStopping { monitor = validation mape }\n"
                + "    schedule = reduceOnPlateau { monitor = r2 }\n}\n"
            let programs =
                [ regression
                  classifier (
                      "    metrics = [accuracy; topK 2; precision; recall; f1]\n"
                      + "    stop = earlyStopping { monitor = f1 }")
                  classifier "    metrics = [f1]\n    stop = earlyStopping { monitor = validation f1 }"
                  classifier "    metrics = [topK 2]\n    schedule = reduceOnPlateau { monitor = validation (topK 2) }"
                  classifier "    metrics = [accuracy]\n    stop = earlyStopping { monitor = validation accuracy }"
                  classifier "    stop = earlyStopping { monitor = validation loss }"
                  classifier "    metrics = [accuracy]\n    stop = earlyStopping { monitor = validationAccuracy }" ]
            for p in programs do
                match Compile.compileText file p with
                | Ok c ->
                    let cfg = TrainPlan.config c c.Trains.Head
                    Expect.isTrue (not cfg.Metrics.IsEmpty || cfg.Stop.IsSome) "metrics or a monitor read"
                | Error ds -> failtestf "%s\n%s" p (ds |> List.map (render p) |> String.concat "\n")
        }
        test "monitors are read into the runtime's values, with their direction" {
            let monitorOf fields =
                match Compile.compileText file (classifier fields) with
                | Ok c -> (TrainPlan.config c c.Trains.Head).Stop.Value.Monitor
                | Error ds -> failtestf "%A" ds
            let m = monitorOf "    metrics = [f1]\n    stop = earlyStopping { monitor = validation f1 }"
            Expect.equal (m.Name, m.Validation, m.Maximize) ("validation f1", true, true) "validation f1"
            let l = monitorOf "    stop = earlyStopping { monitor = validation loss }"
            Expect.equal (l.Name, l.Maximize) ("validationLoss", false) "validation loss"
        }
        test "a program's own `let` of a metric's name keeps its meaning (no existing program changes)" {
            let program =
                "let r2 = 0.05\nlet f1 (p: [n, 1]) (t: [n, 1]) = meanAll (abs (p - t))\n\n"
                + "network t (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\ntrain t {\n    data = rows [ [0; 0], [1] ]\n"
                + "    loss = mse\n    optimizer = adam { lr = r2 }\n    metrics = [f1]\n"
                + "    stop = earlyStopping { monitor = f1 }\n}\n"
            match Compile.compileText file program with
            | Ok c ->
                let cfg = TrainPlan.config c c.Trains.Head
                Expect.equal cfg.Optimizer.Lr 0.05 "`r2` is the program's number"
                Expect.equal [ for m in cfg.Metrics -> m.Name, m.Maximize ] [ "f1", false ] "the program's function"
                Expect.isFalse cfg.Stop.Value.Monitor.Maximize "a function of the program is minimised"
            | Error ds -> failtestf "%s" (ds |> List.map (render program) |> String.concat "\n")
        }

        case "NN0409 an unknown metric with a suggestion and the known names" errors
            (classifier "    metrics = [presicion]")
            ("""
test.nn(7,16): error NN0409: unknown metric `presicion`; did you mean `precision`? (the metrics are `accuracy`, """
             + """`precision`, `recall`, `f1`, `mae`, `mse`, `rmse`, `r2`, `topK`)
  |
7 |     metrics = [presicion]
  |                ^^^^^^^^^""")

        case "NN0409 topK without a whole k of at least 1" errors
            (classifier "    metrics = [topK 0]")
            """
test.nn(7,21): error NN0409: `topK` needs a whole number k ≥ 1, got 0
  |
7 |     metrics = [topK 0]
  |                     ^"""

        case "NN0409 a metric written as `fun` has no name for its column" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [fun p t -> meanAll (abs (p - t))]
}
"""
            ("""
test.nn(7,16): error NN0409: a metric needs a name for its column in metrics.csv: define it with `let name p t = ...`"""
             + """ and write `metrics = [name]`
  |
7 |     metrics = [fun p t -> meanAll (abs (p - t))]
  |                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0409 a function metric must take the prediction and the target" errors
            """
let half p = p / 2.0

network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [rmse; half]
}
"""
            ("""
test.nn(9,22): error NN0409: the metric `half` must take the prediction and the target (`let half p t = ...`), but it"""
             + """ takes 1 argument
  |
9 |     metrics = [rmse; half]
  |                      ^^^^""")

        case "NN0409 a metric listed twice (two columns of one name)" errors
            (classifier "    metrics = [f1; accuracy; f1]")
            """
test.nn(7,30): error NN0409: the metric `f1` is listed twice
  |
7 |     metrics = [f1; accuracy; f1]
  |                              ^^"""

        case "NN0433 accuracy for a regression" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [rmse; accuracy]
}
"""
            ("""
test.nn(7,15): error NN0433: `accuracy` measures a classifier, but `loss = mse` trains a regression (values, not """
             + """classes); measure it with `mae`, `rmse` or `r2`, or train a classifier with """
             + """`binaryCrossEntropy` or `softmaxCrossEntropy`
  |
7 |     metrics = [rmse; accuracy]
  |               ^^^^^^^^^^^^^^^^
test.nn(6,12): note: the loss is `mse`
  |
6 |     loss = mse
  |            ^^^""")

        case "NN0433 r2 for classes" errors
            (classifier "    metrics = [accuracy; r2]")
            ("""
test.nn(7,15): error NN0433: `r2` measures a regression, but `loss = softmaxCrossEntropy` trains a classifier (scores"""
             + """ over classes); measure it with `accuracy`, `topK k`, `precision`, `recall` or `f1`
  |
7 |     metrics = [accuracy; r2]
  |               ^^^^^^^^^^^^^^
test.nn(6,12): note: the loss is `softmaxCrossEntropy`
  |
6 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^""")

        case "NN0210 f1 without a class axis" errors
            """
network t (x: [n, 2]) =
    x |> dense 1 |> reshape [n]

train t {
    data = rows [ [0; 0], [0] ]
    loss = binaryCrossEntropy
    metrics = [f1]
}
"""
            ("""
test.nn(7,15): error NN0210: `f1` needs an output with one probability or a score per class on its last axis (a fixed"""
             + """ size), but the network `t` computes [n]
  |
7 |     metrics = [f1]
  |               ^^^^
test.nn(2,5): note: `t` computes [n] here
  |
2 |     x |> dense 1 |> reshape [n]
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0412 early stopping on a validation metric that is not in `metrics`" errors
            (classifier "    metrics = [accuracy]\n    stop = earlyStopping { monitor = validation f1 }")
            """
test.nn(8,38): error NN0412: early stopping on `validation f1` needs `metrics = [f1]`
  |
8 |     stop = earlyStopping { monitor = validation f1 }
  |                                      ^^^^^^^^^^^^^"""

        case "NN0404 reduceOnPlateau on topK k, which `metrics` lists with another k" errors
            (classifier (
                "    metrics = [accuracy; topK 2]\n"
                + "    schedule = reduceOnPlateau { monitor = validation (topK 5) }"))
            """
test.nn(8,44): error NN0404: `reduceOnPlateau` on `validation topK 5` needs `metrics = [topK 5]`
  |
8 |     schedule = reduceOnPlateau { monitor = validation (topK 5) }
  |                                            ^^^^^^^^^^^^^^^^^^^"""

        case "NN0203 a function metric's mistake is found by nn check, with a note at `metrics`" errors
            """
let bad (p: [n, 1]) (t: [n, 1]) = p @ t

network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [bad]
}
"""
            ("""
test.nn(1,37): error NN0203: `@` needs the inner sizes to agree, but the left side is [n, 1] and the right side is """
             + """[n, 1]
  |
1 | let bad (p: [n, 1]) (t: [n, 1]) = p @ t
  |                                     ^
test.nn(9,16): note: the metric `bad` is computed here
  |
9 |     metrics = [bad]
  |                ^^^""")

        case "NN0203 a function metric's mistake found when the step is built names the metric" planErrors
            ("let wrong p t = meanAll (p @ t)\n\n" + classifier "    metrics = [accuracy; wrong]")
            ("""
test.nn(1,28): error NN0203: `@` needs the inner sizes to agree, but the left side is [n, 3] and the right side is """
             + """[n, 1]
  |
1 | let wrong p t = meanAll (p @ t)
  |                            ^
test.nn(9,26): note: the metric `wrong` is computed here
  |
9 |     metrics = [accuracy; wrong]
  |                          ^^^^^""")
    ]
