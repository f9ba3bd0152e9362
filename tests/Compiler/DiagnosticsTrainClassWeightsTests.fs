/// `classWeights` errors (NN0435), found by the compiler without reading data, at the field or the bad item.
module Nn.Tests.Compiler.DiagnosticsTrainClassWeightsTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.ClassWeights" [
        case "NN0435 a weight per class: 2 weights for 3 classes" errors
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 3

train clf {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
    classWeights = [1.0; 3.0]
}
"""
            ("""
test.nn(7,20): error NN0435: `classWeights` has 2 weights, but `softmaxCrossEntropy` on the output [n, 3] of `clf`"""
             + """ takes 3
  |
7 |     classWeights = [1.0; 3.0]
  |                    ^^^^^^^^^^
test.nn(1,27): note: the output of `clf` is declared here
  |
1 | network clf (x: [n, 2]) : [n, 3] =
  |                           ^^^^^^""")

        case "NN0435 binaryCrossEntropy takes two weights" errors
            """
network clf (x: [n, 2]) : [n, 1] =
    x |> dense 1 |> sigmoid

train clf {
    data = rows [ [0; 0], [0] ]
    loss = binaryCrossEntropy
    classWeights = [1.0; 3.0; 2.0]
}
"""
            ("""
test.nn(7,20): error NN0435: `classWeights` has 3 weights, but `binaryCrossEntropy` on the output [n, 1] of `clf`"""
             + """ takes 2 (classes 0 and 1)
  |
7 |     classWeights = [1.0; 3.0; 2.0]
  |                    ^^^^^^^^^^^^^^^
test.nn(1,27): note: the output of `clf` is declared here
  |
1 | network clf (x: [n, 2]) : [n, 1] =
  |                           ^^^^^^""")

        case "NN0435 a negative weight, at the item" errors
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 3

train clf {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
    classWeights = [1.0; -3.0; 1.0]
}
"""
            """
test.nn(7,26): error NN0435: a class weight must not be negative, got -3
  |
7 |     classWeights = [1.0; -3.0; 1.0]
  |                          ^^^^"""

        case "NN0435 classWeights with a regression loss" errors
            """
network reg (x: [n, 2]) : [n, 1] =
    x |> dense 1

train reg {
    data = rows [ [0; 0], [0] ]
    loss = mse
    classWeights = [1.0; 3.0]
}
"""
            ("""
test.nn(7,20): error NN0435: `classWeights` weighs the classes of softmaxCrossEntropy, crossEntropy or"""
             + """ binaryCrossEntropy, but the loss is `mse`
  |
7 |     classWeights = [1.0; 3.0]
  |                    ^^^^^^^^^^""")

        case "NN0435 classWeights is not a list" errors
            """
network clf (x: [n, 2]) : [n, 3] =
    x |> dense 3

train clf {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
    classWeights = 3.0
}
"""
            ("""
test.nn(7,20): error NN0435: `classWeights` is a list of numbers, one per class, such as [1.0; 3.0], but this is"""
             + """ a number
  |
7 |     classWeights = 3.0
  |                    ^^^""")
    ]
