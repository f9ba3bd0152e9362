/// Commands that use a model without training it: `nn eval`, `nn predict`, `nn graph`, `nn grad`.
module Nn.Tests.Cli.UseWeights

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn (dir: string) (args: string list) =
    let psi = ProcessStartInfo("dotnet", WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true)
    for a in "exec" :: Path.Combine(AppContext.BaseDirectory, "nn.dll") :: args do psi.ArgumentList.Add a
    psi.Environment["NO_COLOR"] <- "1"
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result

/// A temporary folder with copies of examples/ files.
let private sandbox (files: string list) =
    let d = Path.Combine(Path.GetTempPath(), "nn-cli-" + Guid.NewGuid().ToString("N"))
    for f in files do
        let target = Path.Combine(d, f)
        Directory.CreateDirectory(Path.GetDirectoryName target) |> ignore
        File.Copy(Path.Combine(TestUtil.repoRoot, "examples", f), target)
    d

/// An iris run trained for a few epochs, shared by the tests below (trained once).
let private iris =
    lazy
        (let dir = sandbox [ "iris.nn"; "data/iris.csv"; "xor.nn" ]
         let code, _, err = nn dir [ "train"; "iris.nn"; "--set"; "epochs=30"; "--out"; "run"; "--quiet" ]
         if code <> 0 then failwithf "training iris failed: %s" err
         dir)

[<Tests>]
let tests =
    testList "Cli.UseWeights" [
        test "nn eval reports loss and accuracy on the validation rows" {
            let dir = iris.Force()
            let code, out, err = nn dir [ "eval"; "iris.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "on the validation rows (45)" "which rows"
            let last = out.Trim().Split('\n') |> Array.last
            Expect.isMatch last @"^loss \d+\.\d{4}  accuracy \d\.\d{4}$" "loss and metric line"
        }

        test "nn predict prints class names and writes CSV and NPY" {
            let dir = iris.Force()
            let code, out, err = nn dir [ "predict"; "iris.nn"; "--weights"; "run/checkpoint.safetensors"; "--input"; "data/iris.csv"; "--out"; "p.csv" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "`iris` on 150 rows of iris.csv" "title"
            Expect.stringContains out "row  input" "table header"
            Expect.stringContains out "setosa" "class names from the training data"
            Expect.stringContains out "... 130 more rows" "only the first rows"
            Expect.stringContains out "wrote 150 rows to p.csv" "says where"
            let csv = File.ReadAllLines(Path.Combine(dir, "p.csv"))
            Expect.equal csv[0] "setosa,versicolor,virginica,predicted" "CSV header"
            Expect.equal csv.Length 151 "a line per row"
            let code, _, _ = nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "data/iris.csv"; "--out"; "p.npy" ]
            Expect.equal code 0 "npy output"
            Expect.equal (Npy.ReadHost(Path.Combine(dir, "p.npy"))).Shape [| 150; 3 |] "NPY shape"
        }

        test "nn predict checks the input's shape against the network (NN0550 at the input declaration)" {
            let dir = iris.Force()
            Npy.Write(Path.Combine(dir, "wide.npy"), HostTensor([| 2; 5 |], Array.zeroCreate 10))
            let code, _, err = nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "wide.npy" ]
            Expect.equal code 1 "exit code"
            let err = err.Replace(Path.Combine(dir, "iris.nn"), "iris.nn")
            let expected =
                [ "iris.nn(3,14): error NN0550: the rows of wide.npy have the shape [5], but the network `iris` takes [n, 4] (rows of [4])"
                  "  |"
                  "3 | network iris (x: [n, 4]) : [n, 3] ="
                  "  |              ^^^^^^^^^^^"
                  ""
                  "1 error" ]
            Expect.equal (err.Replace("\r\n", "\n").Trim().Split('\n') |> List.ofArray) expected "diagnostic"
        }

        test "bad weights files are diagnostics naming the file" {
            let dir = iris.Force()
            File.WriteAllText(Path.Combine(dir, "junk.safetensors"), "not a checkpoint")
            let code, _, err = nn dir [ "eval"; "iris.nn"; "--weights"; "junk.safetensors" ]
            Expect.equal code 1 "corrupt file"
            Expect.stringStarts err "junk.safetensors: error NN0702: the header length is " "corrupt header"
            let code, _, err = nn dir [ "predict"; "iris.nn"; "--weights"; "none.safetensors"; "--input"; "data/iris.csv" ]
            Expect.equal code 1 "missing file"
            Expect.stringStarts err "none.safetensors: error NN0701: " "missing"
            let code, _, err = nn dir [ "predict"; "xor.nn"; "--weights"; "run"; "--input"; "wide.npy" ]
            Expect.equal code 1 "weights of another network"
            Expect.stringStarts err "run/checkpoint.safetensors: error NN0708: `dense1.w` is [4, 16] in the file, but the network's `dense1.w` is [2, 8]" "shape mismatch"
            let code, _, err = nn dir [ "eval"; "iris.nn" ]
            Expect.equal code 1 "no --weights"
            Expect.equal (err.Trim()) "nn: `nn eval` needs --weights W (a checkpoint or a run folder)" "message"
        }

        test "nn graph prints forward, backward and training graphs, optimized and as dot" {
            let xor = Path.Combine(TestUtil.repoRoot, "examples", "xor.nn")
            let code, out, _ = nn TestUtil.repoRoot [ "graph"; xor ]
            Expect.equal code 0 "forward"
            Expect.stringStarts out "# forward graph of `xor`: 11 nodes\n%0 : [n, 2] = input x" "header and first node"
            Expect.stringContains out "out output = %" "output line"
            let code, out, _ = nn TestUtil.repoRoot [ "graph"; xor; "--step"; "backward"; "--optimized" ]
            Expect.equal code 0 "backward"
            Expect.isMatch (out.Split('\n')[0]) @"^# backward graph of `xor`, optimized: nodes: \d+ → \d+ \(\d+ rounds?\)$" "counts before and after"
            Expect.stringContains out "out grad:dense1.w = %" "gradient outputs"
            let code, out, _ = nn TestUtil.repoRoot [ "graph"; xor; "--step"; "train"; "--format"; "dot" ]
            Expect.equal code 0 "train as dot"
            Expect.stringContains out "digraph nn {" "Graphviz"
            Expect.stringContains out "new:dense1.w" "updates"
            let mnist = Path.Combine(TestUtil.repoRoot, "examples", "mnist_mlp.nn")
            let code, out, _ = nn TestUtil.repoRoot [ "graph"; mnist; "--step"; "train"; "--plan" ]
            Expect.equal code 0 "plan"
            Expect.stringContains out "gemm " "matrix products"
            if Nn.Runtime.Engine.Planning.WeightLayout.Pays then
                Expect.stringContains out "panel layout (32-column panels, read by products in place): %" "weights in panels"
            let code, _, err = nn TestUtil.repoRoot [ "graph"; xor; "--step"; "sideways" ]
            Expect.equal code 1 "bad step"
            Expect.equal (err.Trim()) "nn: --step must be one of forward, backward, train, got `sideways`" "message"
        }

        test "nn grad shows vanishing gradients in deep_sigmoid and healthy ones in the residual network" {
            let residual = Path.Combine(TestUtil.repoRoot, "examples", "residual.nn")
            let code, out, err = nn TestUtil.repoRoot [ "grad"; residual; "--network"; "deep_sigmoid"; "--batch"; "16" ]
            Expect.equal code 0 (sprintf "deep_sigmoid (stderr: %s)" err)
            Expect.stringContains out "parameter         shape       |grad|     |value|    |grad|/|value|" "table header"
            Expect.stringContains out "repeat1.dense1.w  [784, 128]" "first layer row (inside the prelude's repeat)"
            Expect.stringContains out "vanishing gradients" "diagnosis"
            let code, out, _ = nn TestUtil.repoRoot [ "grad"; residual; "--batch"; "16" ]
            Expect.equal code 0 "deep"
            Expect.stringContains out "repeat1.residual8.dense1.w" "residual parameters"
            Expect.stringContains out "no sign of vanishing or exploding gradients" "diagnosis"
        }

        test "nn grad at trained weights writes the gradients under the parameter paths" {
            let dir = iris.Force()
            let code, out, err = nn dir [ "grad"; "iris.nn"; "--weights"; "run"; "--batch"; "8"; "--out"; "g.safetensors" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "on 8 rows at run" "batch and weights"
            let g = SafeTensors.Read(Path.Combine(dir, "g.safetensors"))
            Expect.equal (List.ofSeq g.Names) [ "dense1.w"; "dense1.b"; "dense2.w"; "dense2.b" ] "one gradient per parameter"
            Expect.equal g["dense1.w"].Shape [| 4; 16 |] "shape"
        }
    ]
