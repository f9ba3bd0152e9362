module Nn.Tests.Runtime.Training.InitializerTests

open Expecto
open Nn.Runtime.IR
open Nn.Runtime.Training

let private stats (xs: float32[]) =
    let m = xs |> Array.averageBy float
    m, sqrt (xs |> Array.averageBy (fun x -> (float x - m) ** 2.0))

[<Tests>]
let tests =
    testList "Runtime.Training.Initializers" [
        test "fans: dense [k, units], conv [kh, kw, cin, cout], vectors and scalars" {
            Expect.equal (Initializers.Fans [| 784; 512 |]) (784, 512) "dense"
            Expect.equal (Initializers.Fans [| 5; 5; 6; 16 |]) (5 * 5 * 6, 5 * 5 * 16) "conv"
            Expect.equal (Initializers.Fans [| 10 |]) (10, 10) "vector"
            Expect.equal (Initializers.Fans [||]) (1, 1) "scalar"
        }
        test "glorot is uniform within sqrt(6 / (fan_in + fan_out))" {
            let w = Initializers.Create(InitSpec("glorot"), [| 200; 100 |], "w", 1UL)
            let limit = sqrt (6.0 / 300.0)
            Expect.all w.Data (fun x -> abs (float x) <= limit) "within the limit"
            let _, sd = stats w.Data
            Expect.floatClose { absolute = 0.003; relative = 0.0 } sd (limit / sqrt 3.0) "uniform's std"
        }
        test "he and lecun are normal with std sqrt(2 / fan_in) and sqrt(1 / fan_in)" {
            let he = Initializers.Create(InitSpec("he"), [| 3; 3; 8; 64 |], "k", 1UL)
            let m, sd = stats he.Data
            Expect.floatClose { absolute = 0.01; relative = 0.0 } m 0.0 "mean"
            Expect.floatClose { absolute = 0.01; relative = 0.0 } sd (sqrt (2.0 / 72.0)) "he std"
            let _, sd2 = stats (Initializers.Create(InitSpec("lecun"), [| 100; 200 |], "w", 1UL)).Data
            Expect.floatClose { absolute = 0.003; relative = 0.0 } sd2 0.1 "lecun std"
        }
        test "constants, uniform bounds, and streams depend on the seed and the name only" {
            Expect.all (Initializers.Create(InitSpec("constant", 0.5), [| 3 |], "c", 0UL)).Data ((=) 0.5f) "constant"
            Expect.all (Initializers.Create(InitSpec.Ones, [| 3 |], "o", 0UL)).Data ((=) 1f) "ones"
            Expect.all
                (Initializers.Create(InitSpec("uniform", 2.0, 3.0), [| 100 |], "u", 0UL)).Data
                (fun x -> x >= 2f && x < 3f)
                "uniform"
            let a = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense1.w", 4UL)
            let b = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense1.w", 4UL)
            let c = Initializers.Create(InitSpec("normal", 1.0), [| 5 |], "dense2.w", 4UL)
            Expect.sequenceEqual b.Data a.Data "same seed and name"
            Expect.notEqual c.Data a.Data "another name"
        }
    ]
