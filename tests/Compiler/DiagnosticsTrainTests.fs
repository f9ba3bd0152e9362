/// `train` block settings errors (NN04xx) found by the compiler without reading data, each at the part of the
/// field that is wrong (the setting's value, the list item, the name of an unknown setting).
module Nn.Tests.Compiler.DiagnosticsTrainTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Train" [
        case "NN0401 unknown train field with a suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    epoch = 10
}
"""
            """
test.nn(7,5): error NN0401: `train` has no field `epoch`; did you mean `epochs`?
  |
7 |     epoch = 10
  |     ^^^^^"""

        case "NN0404 schedule is a number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    schedule = 0.5
}
"""
            ("""
test.nn(7,16): error NN0404: `schedule` is one of stepDecay, exponential, cosine, warmup, reduceOnPlateau, but this"""
             + """ is a number
  |
7 |     schedule = 0.5
  |                ^^^""")

        case "NN0407 batch of zero" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    batch = 0
}
"""
            """
test.nn(7,13): error NN0407: `batch` must be a positive whole number, got 0
  |
7 |     batch = 0
  |             ^"""

        case "NN0407 validation outside [0, 1)" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    validation = 1.5
}
"""
            """
test.nn(7,18): error NN0407: `validation` must be a fraction in [0, 1), got 1.5
  |
7 |     validation = 1.5
  |                  ^^^"""

        case "NN0408 missing loss" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
}
"""
            ("""
test.nn(4,1): error NN0408: `train t` needs a `loss` field (one of mse, mae, huber, binaryCrossEntropy,"""
             + """ softmaxCrossEntropy, crossEntropy)
  |
4 | train t {
  | ^^^^^^^^^""")

        case "NN0408 loss that is not a loss" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = accuracy
}
"""
            ("""
test.nn(6,12): error NN0408: `loss` is one of mse, mae, huber, binaryCrossEntropy, softmaxCrossEntropy, crossEntropy,"""
             + """ or a function of the prediction and the target (`fun p t -> ...`), but this is `accuracy`
  |
6 |     loss = accuracy
  |            ^^^^^^^^""")

        case "NN0410 regularize with a bare number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    regularize = 0.01
}
"""
            """
test.nn(7,18): error NN0410: `regularize` is `l1 c`, `l2 c` or a list of them, but this is a number
  |
7 |     regularize = 0.01
  |                  ^^^^"""

        case "NN0411 clip with a bare number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    clip = 1.0
}
"""
            """
test.nn(7,12): error NN0411: `clip` is `norm c` or `value c`, but this is a number
  |
7 |     clip = 1.0
  |            ^^^"""

        case "NN0413 unknown network with a suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train tt {
    data = rows [ [0; 0], [0] ]
    loss = mse
}
"""
            """
test.nn(4,7): error NN0413: there is no network named `tt`; did you mean `t`?
  |
4 | train tt {
  |       ^^"""

        case "NN0403 and NN0404: an unknown optimizer and schedule at once, with the valid names" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adamm
    schedule = cosin { warmup = 1 }
}
"""
            ("""
test.nn(7,17): error NN0403: unknown optimizer `adamm`; did you mean `adam`? (the optimizers are `sgd`, `adam`,"""
             + """ `adamW`, `nadam`, `rmsprop`, `adagrad`)
  |
7 |     optimizer = adamm
  |                 ^^^^^
test.nn(8,16): error NN0404: unknown schedule `cosin`; did you mean `cosine`? (the schedules are `stepDecay`,"""
             + """ `exponential`, `cosine`, `warmup`, `reduceOnPlateau`)
  |
8 |     schedule = cosin { warmup = 1 }
  |                ^^^^^""")

        case "NN0402 optimizer setting with a suggestion, at the setting's name" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam { lr = 0.1; beta = 0.9 }
}
"""
            """
test.nn(7,34): error NN0402: `adam` has no setting `beta` (it has `lr`, `beta1`, `beta2`, `eps`); did you mean `beta1`?
  |
7 |     optimizer = adam { lr = 0.1; beta = 0.9 }
  |                                  ^^^^"""

        case "NN0402 csv setting with a transposition suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/iris.csv" { features = [0; 1]; lable = "species" }
    loss = mse
}
"""
            ("""
test.nn(5,53): error NN0402: `csv` has no setting `lable` (it has `features`, `label`, `categorical`, `indexed`, """
             + """`missing`); did you mean `label`?
  |
5 |     data = csv "data/iris.csv" { features = [0; 1]; lable = "species" }
  |                                                     ^^^^^""")

        case "NN0402 settings that are not a record" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam 0.1
}
"""
            """
test.nn(7,22): error NN0402: `adam` expects settings such as { lr = ... }, but got a number
  |
7 |     optimizer = adam 0.1
  |                      ^^^"""

        case "NN0403 negative learning rate, at the value" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam { lr = -1 }
}
"""
            """
test.nn(7,29): error NN0403: `lr` must be positive, got -1
  |
7 |     optimizer = adam { lr = -1 }
  |                             ^^"""

        case "NN0403 learning rate that is not a number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = sgd { lr = "fast" }
}
"""
            """
test.nn(7,28): error NN0403: `lr` is a number, but this is a string
  |
7 |     optimizer = sgd { lr = "fast" }
  |                            ^^^^^^"""

        case "NN0403 nesterov without momentum" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = sgd { lr = 0.1; nesterov = true }
}
"""
            """
test.nn(7,44): error NN0403: `nesterov = true` needs a positive `momentum`
  |
7 |     optimizer = sgd { lr = 0.1; nesterov = true }
  |                                            ^^^^"""

        case "NN0403 beta1 outside [0, 1)" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam { lr = 0.01; beta1 = 1.5 }
}
"""
            """
test.nn(7,43): error NN0403: `beta1` must be in [0, 1), got 1.5
  |
7 |     optimizer = adam { lr = 0.01; beta1 = 1.5 }
  |                                           ^^^"""

        case "NN0404 stepDecay every zero epochs" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    schedule = stepDecay { every = 0; factor = 0.5 }
}
"""
            """
test.nn(7,36): error NN0404: `every` must be a whole number ≥ 1, got 0
  |
7 |     schedule = stepDecay { every = 0; factor = 0.5 }
  |                                    ^"""

        case "NN0404 reduceOnPlateau watching accuracy without the metric" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    schedule = reduceOnPlateau { monitor = accuracy }
}
"""
            """
test.nn(7,44): error NN0404: `reduceOnPlateau` on `accuracy` needs `metrics = [accuracy]`
  |
7 |     schedule = reduceOnPlateau { monitor = accuracy }
  |                                            ^^^^^^^^"""

        case "NN0404 reduceOnPlateau watching something that is not a monitor" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    schedule = reduceOnPlateau { monitor = binaryCrossEntropy }
}
"""
            ("""
test.nn(7,44): error NN0404: `monitor` is `loss`, `accuracy`, `validationLoss`, `validationAccuracy`, """
             + """a metric of `metrics` (such as `f1`) or `validation` and one of them (`validation f1`), """
             + """but this is `binaryCrossEntropy`
  |
7 |     schedule = reduceOnPlateau { monitor = binaryCrossEntropy }
  |                                            ^^^^^^^^^^^^^^^^^^""")

        case "NN0408 huber with a negative delta" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = huber (-1)
}
"""
            """
test.nn(6,18): error NN0408: `huber` needs a positive delta, got -1
  |
6 |     loss = huber (-1)
  |                  ^^^^"""

        case "NN0411 clip = norm -1 passes a negative limit (F#'s rule for -1 after a blank)" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    clip = norm -1
}
"""
            """
test.nn(7,17): error NN0411: `clip = norm` needs a positive limit, got -1
  |
7 |     clip = norm -1
  |                 ^^"""

        case "NN0302 norm - 1 is a subtraction, with a note showing the negative argument" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    clip = norm - 1
}
"""
            """
test.nn(7,12): error NN0302: `-` needs a tensor or a number on the left, but this is a function
  |
7 |     clip = norm - 1
  |            ^^^^
test.nn(7,12): note: to pass a negative number, write `norm -1` with no blank after the `-`
  |
7 |     clip = norm - 1
  |            ^^^^^^^^"""

        case "NN0303 a -b on a value applies it, with a note showing the subtraction" errors
            """
let a = 2
let b = a -1

network t (x: [n, 2]) : [n, 1] =
    x |> dense b
"""
            """
test.nn(2,9): error NN0303: an integer is not a function, so it cannot be applied to an argument
  |
2 | let b = a -1
  |         ^^^^
test.nn(2,11): note: `a -1` passes `-1` to `a`; for a subtraction, write `a - 1`
  |
2 | let b = a -1
  |           ^^"""

        case "NN0409 unknown metric, at the item" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [accuracy; binaryCrossEntropy]
}
"""
            ("""
test.nn(7,26): error NN0409: `metrics` lists `accuracy`, `topK k`, `precision`, `recall`, `f1`, `mae`, `mse`, """
             + """`rmse`, `r2` or functions of the program (`let name p t = ...`), but this is `binaryCrossEntropy`
  |
7 |     metrics = [accuracy; binaryCrossEntropy]
  |                          ^^^^^^^^^^^^^^^^^^""")

        case "NN0410 negative regularization" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    regularize = [l1 0.01; l2 (-0.1)]
}
"""
            """
test.nn(7,31): error NN0410: `l2` must not be negative, got -0.1
  |
7 |     regularize = [l1 0.01; l2 (-0.1)]
  |                               ^^^^^^"""

        case "NN0410 regularize list with a bare number, at the item" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    regularize = [l2 0.01; 0.5]
}
"""
            """
test.nn(7,28): error NN0410: `regularize` is `l1 c`, `l2 c` or a list of them, but this is a number
  |
7 |     regularize = [l2 0.01; 0.5]
  |                            ^^^"""

        case "NN0411 clip norm of zero" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    clip = norm 0
}
"""
            """
test.nn(7,17): error NN0411: `clip = norm` needs a positive limit, got 0
  |
7 |     clip = norm 0
  |                 ^"""

        case "NN0412 early stopping monitor, at the value" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    stop = earlyStopping { monitor = binaryCrossEntropy; patience = 3 }
}
"""
            ("""
test.nn(7,38): error NN0412: `monitor` is `loss`, `accuracy`, `validationLoss`, `validationAccuracy`, """
             + """a metric of `metrics` (such as `f1`) or `validation` and one of them (`validation f1`), """
             + """but this is `binaryCrossEntropy`
  |
7 |     stop = earlyStopping { monitor = binaryCrossEntropy; patience = 3 }
  |                                      ^^^^^^^^^^^^^^^^^^""")

        case "NN0412 negative patience" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    stop = earlyStopping { patience = -3 }
}
"""
            """
test.nn(7,39): error NN0412: `patience` must be a whole number ≥ 0, got -3
  |
7 |     stop = earlyStopping { patience = -3 }
  |                                       ^^"""

        case "NN0412 early stopping on accuracy without the metric" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    stop = earlyStopping { monitor = validationAccuracy; patience = 3 }
}
"""
            """
test.nn(7,38): error NN0412: early stopping on `validationAccuracy` needs `metrics = [accuracy]`
  |
7 |     stop = earlyStopping { monitor = validationAccuracy; patience = 3 }
  |                                      ^^^^^^^^^^^^^^^^^^"""

        case "NN0403 a setting from a let is reported in the let, with a note at the field" errors
            """
let opts = { lr = -1 }

network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam opts
}
"""
            """
test.nn(1,19): error NN0403: `lr` must be positive, got -1
  |
1 | let opts = { lr = -1 }
  |                   ^^
test.nn(9,17): note: used by `optimizer` here
  |
9 |     optimizer = adam opts
  |                 ^^^^^^^^^"""

        case "NN0402 early stopping setting, at the name" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    stop = earlyStopping { patince = 2 }
}
"""
            ("""
test.nn(7,28): error NN0402: `earlyStopping` has no setting `patince` (it has `monitor`, `patience`); did you mean"""
             + """ `patience`?
  |
7 |     stop = earlyStopping { patince = 2 }
  |                            ^^^^^^^""")
    ]
