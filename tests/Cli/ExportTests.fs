module Nn.Tests.Cli.ExportTests

open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Tests.TestUtil

let private nn = runNn []

[<Tests>]
let tests =
    testList "Cli.Export" [
        test "nn export of a trained regression runs in ONNX Runtime as nn predict (1e-5 relative, 7 rows)" {
            let dir = exampleSandbox "nn-export-" [ "regression.nn" ]
            let code, _, err = nn dir [ "train"; "regression.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, out, err = nn dir [ "export"; "regression.nn"; "--weights"; "run"; "--out"; "curve.onnx" ]
            Expect.equal code 0 (sprintf "export: %s" err)
            Expect.stringContains out "wrote `curve` to curve.onnx (ONNX opset 17" "report"
            let x = HostTensor([| 7; 1 |], Array.init 7 (fun i -> float32 i * 0.5f - 1.5f))
            Npy.Write(Path.Combine(dir, "x.npy"), x)
            let code, _, err =
                nn dir [ "predict"; "regression.nn"; "--weights"; "run"; "--input"; "x.npy"; "--out"; "y.npy" ]
            Expect.equal code 0 (sprintf "predict: %s" err)
            let expected = Npy.ReadHost(Path.Combine(dir, "y.npy"))
            let actual =
                Nn.Tests.Compiler.ExportTests.runOnnx (File.ReadAllBytes(Path.Combine(dir, "curve.onnx"))) [ "x", x ]
            let d = Nn.Tests.Compiler.ExportTests.maxRelative actual expected
            Expect.isLessThanOrEqual d 1e-5 "max relative difference"
            Expect.isFalse (File.Exists(Path.Combine(dir, "curve.onnx.tmp"))) "no temporary file left"
        }
        test "the file nn export writes passes the ONNX checker; its inferred output shape is nn's [n, 1]" {
            let dir = exampleSandbox "nn-export-" [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run"; "--out"; "xor.onnx" ]
            Expect.equal code 0 (sprintf "export: %s" err)
            let shape = Nn.Tests.Compiler.ExportTests.checkOnnx (File.ReadAllBytes(Path.Combine(dir, "xor.onnx")))
            Expect.equal shape "n 1" "inferred output shape"
        }
        test "nn export --opset 12 is NN0721 with exit code 1; without --out, a usage error" {
            let dir = exampleSandbox "nn-export-" [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=1"; "--out"; "run" ]
            Expect.equal code 0 (sprintf "train: %s" err)
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run"; "--out"; "m.onnx"; "--opset"; "12" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "error NN0721: --opset 12 is not supported" "diagnostic"
            Expect.isFalse (File.Exists(Path.Combine(dir, "m.onnx"))) "nothing written"
            let code, _, err = nn dir [ "export"; "xor.nn"; "--weights"; "run" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "needs --out" "names the missing option"
        }
    ]
