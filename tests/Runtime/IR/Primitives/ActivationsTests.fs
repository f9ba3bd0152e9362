/// The activations added as definitions (silu, hardSigmoid, logSigmoid): values computed by hand from the textbook
/// formulas. Their gradient rules and fused kernels are checked with every other unary op in PrimitivesTests.
module Nn.Tests.Runtime.IR.Primitives.ActivationsTests

open Expecto
open Nn.Runtime.IR

/// Hand-computed values of an op (from its textbook formula, not from the code).
let checkValues (kind: OpKind) (cases: (float * float) list) =
    let p = Primitives.Unary kind
    for x, expected in cases do
        Expect.floatClose Accuracy.veryHigh (p.Evaluate(x: float)) expected $"{p.Name}({x}) in float64"
        Expect.floatClose Accuracy.medium (float (p.Evaluate(float32 x))) expected
            $"{p.Name}({x}) in float32"

[<Tests>]
let tests =
    testList "Runtime.IR.Primitives.Activations" [
        // x / (1 + e^−x): silu(1) = 1/(1 + 1/e), silu(−2) = −2/(1 + e²)
        test "silu" {
            checkValues OpKind.Silu
                [ 0.0, 0.0; 1.0, 0.7310585786300049; -2.0, -0.2384058440442351; 3.5, 3.397407192370253 ]
        }
        test "swish is silu" {
            Expect.contains (Primitives.Unary OpKind.Silu).Names "swish" "alias"
        }
        // clamp(x/6 + 1/2, 0, 1): 0 up to −3, 1 from 3, linear between
        test "hardSigmoid" {
            checkValues OpKind.HardSigmoid
                [ -5.0, 0.0; -3.0, 0.0; -1.2, 0.3; 0.0, 0.5; 1.5, 0.75; 3.0, 1.0; 7.0, 1.0 ]
        }
        // −log(1 + e^−x): logSigmoid(0) = −ln 2; ≈ x for large negative x; ≈ −e^−x for large positive x
        test "logSigmoid" {
            checkValues OpKind.LogSigmoid
                [ 0.0, -0.6931471805599453; 2.0, -0.1269280110429725; -3.0, -3.048587351573742
                  12.0, -6.144193477732806e-06; -200.0, -200.0 ]
        }
    ]
