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
let private nn = Nn.Tests.TestUtil.runNn []

/// A temporary folder with copies of examples/ files.
let private sandbox files = Nn.Tests.TestUtil.exampleSandbox "nn-cli-" files

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
            let code, out, err =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run/checkpoint.safetensors"; "--input"; "data/iris.csv"
                         "--out"; "p.csv" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "`iris` on 150 rows of iris.csv" "title"
            Expect.stringContains out "row  input" "table header"
            Expect.stringContains out "setosa" "class names from the training data"
            Expect.stringContains out "... 130 more rows" "only the first rows"
            Expect.stringContains out "wrote 150 rows to p.csv" "says where"
            let csv = File.ReadAllLines(Path.Combine(dir, "p.csv"))
            Expect.equal csv[0] "setosa,versicolor,virginica,predicted" "CSV header"
            Expect.equal csv.Length 151 "a line per row"
            let code, _, _ =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "data/iris.csv"; "--out"; "p.npy" ]
            Expect.equal code 0 "npy output"
            Expect.equal (Npy.ReadHost(Path.Combine(dir, "p.npy"))).Shape [| 150; 3 |] "NPY shape"
        }

        test "nn predict of a classifier writes the predicted class and the class probabilities, not raw scores" {
            let dir = iris.Force()
            let code, out, err =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "data/iris.csv"; "--out"; "probs.csv" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "`iris` on 150 rows of iris.csv: the predicted class and the class probabilities"
                "title"
            Expect.isMatch out @"\nrow +input +class +setosa +versicolor +virginica\n" "a column per class, named"
            let rows = File.ReadAllLines(Path.Combine(dir, "probs.csv"))
            Expect.equal rows[0] "setosa,versicolor,virginica,predicted" "CSV header"
            for line in rows[1..] do
                let cells = line.Split ','
                let p = cells[0..2] |> Array.map (fun c -> Double.Parse(c, Globalization.CultureInfo.InvariantCulture))
                // today: the dense layer's raw scores (negative, above 1, not summing to 1)
                Expect.all p (fun v -> v >= 0.0 && v <= 1.0) (sprintf "probabilities in [0, 1]: %s" line)
                Expect.floatClose { absolute = 1e-5; relative = 0.0 } (Array.sum p) 1.0
                    (sprintf "they sum to 1: %s" line)
                let names = [| "setosa"; "versicolor"; "virginica" |]
                Expect.equal cells[3] names[Array.IndexOf(p, Array.max p)] "the most probable class"
            let code, _, _ =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "data/iris.csv"; "--out"; "probs.npy" ]
            Expect.equal code 0 "npy"
            let t = Npy.ReadHost(Path.Combine(dir, "probs.npy"))
            Expect.floatClose { absolute = 1e-5; relative = 0.0 } (float (t.Row(7).ToArray() |> Array.sum)) 1.0
                "NPY rows are probabilities"
        }

        test "nn predict: a network that ends in softmax keeps its probabilities; \
              binaryCrossEntropy gives both classes" {
            let dir = iris.Force()
            File.WriteAllText(Path.Combine(dir, "iris_softmax.nn"),
                File.ReadAllText(Path.Combine(dir, "iris.nn")).Replace("|> dense 3", "|> dense 3 |> softmax"))
            let code, _, err =
                nn dir [ "train"; "iris_softmax.nn"; "--set"; "epochs=30"; "--out"; "run_softmax"; "--quiet" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            let code, _, err =
                nn dir [ "predict"; "iris_softmax.nn"; "--weights"; "run_softmax"; "--input"; "data/iris.csv"
                         "--out"; "s.npy" ]
            Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
            let t = Npy.ReadHost(Path.Combine(dir, "s.npy"))
            // a second softmax of three probabilities would keep every one below e / (e + 2) = 0.58
            Expect.isGreaterThan (Array.max t.Data) 0.9f "not squashed by a second softmax"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=5"; "--out"; "run_xor"; "--quiet" ]
            Expect.equal code 0 (sprintf "train xor (stderr: %s)" err)
            Npy.Write(Path.Combine(dir, "points.npy"), HostTensor([| 2; 2 |], [| 0f; 1f; 1f; 1f |]))
            let code, out, err =
                nn dir [ "predict"; "xor.nn"; "--weights"; "run_xor"; "--input"; "points.npy"; "--out"; "x.csv" ]
            Expect.equal code 0 (sprintf "predict xor (stderr: %s)" err)
            Expect.isMatch out @"\nrow +input +class +0 +1\n" "the two classes"
            let rows = File.ReadAllLines(Path.Combine(dir, "x.csv"))
            Expect.equal rows[0] "0,1,predicted" "CSV header (today: `y`, the raw output)"
            let p =
                rows[1].Split(',')[0..1]
                |> Array.map (fun c -> Double.Parse(c, Globalization.CultureInfo.InvariantCulture))
            Expect.floatClose { absolute = 1e-6; relative = 0.0 } (p[0] + p[1]) 1.0 "1 - p and p"
        }

        test "nn predict names rows holding NaN (NN0560); --allow-nan marks them and never invents a class" {
            let dir = iris.Force()
            let csv = File.ReadAllLines(Path.Combine(dir, "data", "iris.csv"))
            File.WriteAllLines(Path.Combine(dir, "nan.csv"),
                [| csv[0]; csv[1]; "NaN,3.0,1.4,0.2,setosa"; csv[60]; "5.1,Infinity,1.4,0.2,setosa" |])
            let code, out, err =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "nan.csv"; "--out"; "n.csv" ]
            Expect.equal code 1 "an error by default (today: NaN outputs and the class setosa, exit 0)"
            Expect.equal (err.Trim())
                ("nan.csv: error NN0560: rows 2 and 4 (data rows, after the header) hold NaN or infinite values \
                  (row 2, value 1: NaN); "
                 + "a prediction needs finite inputs: fix or drop those rows, or pass --allow-nan to mark them \
                    (NaN outputs, an empty class)\n\n1 error") "message"
            Expect.equal out "" "nothing printed"
            Expect.isFalse (File.Exists(Path.Combine(dir, "n.csv"))) "nothing written"
            let code, out, err =
                nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "nan.csv"; "--out"; "n.csv"
                         "--allow-nan" ]
            Expect.equal code 0 (sprintf "--allow-nan (stderr: %s)" err)
            Expect.isMatch out @"\n2 +NaN 3 1\.4 0\.2 +NaN +NaN +NaN\n" "the row is marked, no class"
            Expect.stringContains out "rows 2 and 4 of nan.csv held NaN or infinite values: their outputs are NaN \
                                       and their class is empty" "says which"
            let rows = File.ReadAllLines(Path.Combine(dir, "n.csv"))
            Expect.equal rows[2] "NaN,NaN,NaN," "NaN probabilities and an empty class"
            Expect.equal rows[4] "NaN,NaN,NaN," "infinity too"
            Expect.isTrue (rows[1].EndsWith ",setosa") "the other rows are predicted"
            Expect.isTrue (rows[3].EndsWith ",versicolor") "row 60 of iris.csv"
        }

        test "nn predict checks the input's shape against the network (NN0550 at the input declaration)" {
            let dir = iris.Force()
            Npy.Write(Path.Combine(dir, "wide.npy"), HostTensor([| 2; 5 |], Array.zeroCreate 10))
            let code, _, err = nn dir [ "predict"; "iris.nn"; "--weights"; "run"; "--input"; "wide.npy" ]
            Expect.equal code 1 "exit code"
            let err = err.Replace(Path.Combine(dir, "iris.nn"), "iris.nn")
            let expected =
                [ "iris.nn(3,14): error NN0550: the rows of wide.npy have the shape [5], but the network `iris` \
                   takes [n, 4] (rows of [4])"
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
            let code, _, err =
                nn dir [ "predict"; "iris.nn"; "--weights"; "none.safetensors"; "--input"; "data/iris.csv" ]
            Expect.equal code 1 "missing file"
            Expect.stringStarts err "none.safetensors: error NN0701: " "missing"
            let code, _, err = nn dir [ "predict"; "xor.nn"; "--weights"; "run"; "--input"; "wide.npy" ]
            Expect.equal code 1 "weights of another network"
            Expect.stringStarts err "run/checkpoint.safetensors: error NN0708: `dense1.w` is [4, 16] in the file, but \
                                     the network's `dense1.w` is [2, 8]" "shape mismatch"
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
            Expect.isMatch (out.Split('\n')[0])
                @"^# backward graph of `xor`, optimized: nodes: \d+ → \d+ \(\d+ rounds?\)$" "counts before and after"
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
                Expect.stringContains out "panel layout (32-column panels, read by products in place): %"
                    "weights in panels"
            let code, _, err = nn TestUtil.repoRoot [ "graph"; xor; "--step"; "sideways" ]
            Expect.equal code 1 "bad step"
            Expect.equal (err.Trim()) "nn: --step must be one of forward, backward, train, got `sideways`" "message"
        }

        test "nn grad shows vanishing gradients in deep_sigmoid and healthy ones in the residual network" {
            let residual = Path.Combine(TestUtil.repoRoot, "examples", "residual.nn")
            let code, out, err = nn TestUtil.repoRoot [ "grad"; residual; "--network"; "deep_sigmoid"; "--batch"; "16" ]
            Expect.equal code 0 (sprintf "deep_sigmoid (stderr: %s)" err)
            Expect.stringContains out "parameter         shape       |grad|     |value|    |grad|/|value|"
                "table header"
            Expect.stringContains out "repeat1.dense1.w  [784, 128]" "first layer row (inside the prelude's repeat)"
            Expect.stringContains out "vanishing gradients in 5 of 9 weight layers" "diagnosis"
            Expect.stringContains out "repeat1.dense1.w, repeat1.dense2.w, repeat1.dense3.w, \
                                       repeat1.dense4.w, repeat1.dense5.w\n" "which layers"
            Expect.isMatch out @"repeat1\.dense1\.w +\[784, 128\] .* vanishing" "marked in the table"
            Expect.isMatch out @"towards the input they change by ×0\.\d+ per layer" "the trend"
            let code, out, _ = nn TestUtil.repoRoot [ "grad"; residual; "--batch"; "16" ]
            Expect.equal code 0 "deep"
            Expect.stringContains out "repeat1.residual8.dense1.w" "residual parameters"
            Expect.stringContains out "no sign of vanishing or exploding gradients" "diagnosis"
        }

        test "nn grad finds an explosion whose first and last layers look alike (8 ReLU layers, normal 1.0 weights)" {
            let dir = sandbox [ "data/mnist10k-images-idx3-ubyte.gz"; "data/mnist10k-labels-idx1-ubyte.gz" ]
            let program =
                [ "let layer units (x: [n, k]) ="
                  "    param w : [k, units] = normal 1.0"
                  "    param b : [units] = zeros"
                  "    x @ w + b"
                  ""
                  "network deep (image: [n, 28, 28]) : [n, 10] ="
                  "    image / 255.0 |> flatten |> repeat 8 (layer 128 >> relu) |> layer 10"
                  ""
                  "train deep {"
                  "    data      = idx \"data/mnist10k-images-idx3-ubyte.gz\" \"data/mnist10k-labels-idx1-ubyte.gz\""
                  "    loss      = softmaxCrossEntropy"
                  "    optimizer = sgd { lr = 0.01 }"
                  "}" ]
            File.WriteAllLines(Path.Combine(dir, "explode.nn"), program)
            let code, out, err = nn dir [ "grad"; "explode.nn"; "--batch"; "16" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            // today: "no sign of vanishing or exploding gradients" (only the first and last layers were compared)
            Expect.isFalse (out.Contains "no sign of") "not healthy"
            let why =
                @"exploding gradients in 9 of 9 weight layers \(\|grad\|/\|value\| \d\.\d{3}e\+0\d to \d\.\d{3}e\+0\d, "
                + @"above 10\): repeat1\.layer1\.w, "
            Expect.isMatch out why "which layers and why"
            Expect.stringContains out "repeat1.layer8.w, layer1.w\n" "up to the last"
            Expect.isMatch out @"repeat1\.layer4\.w +\[128, 128\] .* exploding" "marked in the table"
        }

        test "nn grad at trained weights writes the gradients under the parameter paths" {
            let dir = iris.Force()
            let code, out, err =
                nn dir [ "grad"; "iris.nn"; "--weights"; "run"; "--batch"; "8"; "--out"; "g.safetensors" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out "on 8 rows at run" "batch and weights"
            let g = SafeTensors.Read(Path.Combine(dir, "g.safetensors"))
            Expect.equal (List.ofSeq g.Names) [ "dense1.w"; "dense1.b"; "dense2.w"; "dense2.b" ]
                "one gradient per parameter"
            Expect.equal g["dense1.w"].Shape [| 4; 16 |] "shape"
        }

        test "a loss written in the language (custom_loss.nn): nn eval gives metrics.csv's val_loss, nn grad runs" {
            let dir = sandbox [ "custom_loss.nn" ]
            let code, _, err = nn dir [ "train"; "custom_loss.nn"; "--set"; "epochs=2"; "--out"; "run"; "--quiet" ]
            Expect.equal code 0 (sprintf "training (stderr: %s)" err)
            let csv = File.ReadAllLines(Path.Combine(dir, "run", "metrics.csv"))
            let header = csv[0].Split(',')
            let last = csv[csv.Length - 1].Split(',')
            let valLoss = float last[Array.IndexOf(header, "val_loss")]
            let code, out, err = nn dir [ "eval"; "custom_loss.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            let line = out.Trim().Split('\n') |> Array.last
            Expect.isMatch line @"^loss \d+\.\d{4}$" "the loss line"
            let evaluated = float (line.Substring 5)
            // eval prints 4 decimals; the same function on the same rows and weights gives the same number
            Expect.floatClose { absolute = 5e-5; relative = 0.0 } evaluated valLoss "eval against metrics.csv"
            let code, out, err = nn dir [ "grad"; "custom_loss.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "grad (stderr: %s)" err)
            Expect.stringContains out "gradients of `growth` (mape loss)" "names the program's loss"
        }
    ]
