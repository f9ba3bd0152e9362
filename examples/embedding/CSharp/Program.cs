// Embedding nn in a C# program: compile a model from a string, train it on arrays, predict, save and load,
// export to ONNX.
using Nn;

const string source = """
    /// XOR: the smallest problem that needs a hidden layer.
    network xor (x: [n, 2]) : [n, 1] =
        x |> dense 8 |> tanh |> dense 1 |> sigmoid

    train xor {
        loss      = binaryCrossEntropy
        optimizer = sgd { lr = 0.5; momentum = 0.9 }
        batch     = 4
        epochs    = 500
        seed      = 1
    }
    """;

// 1. Compile: errors come back as diagnostics, never as exceptions.
var broken = NnModel.Compile(source.Replace("tanh", "tahn"), "xor.nn");
Console.WriteLine($"a typo gives {broken.Diagnostics.Count} diagnostic: {broken.Diagnostics[0].Code} at line {broken.Diagnostics[0].Line}, column {broken.Diagnostics[0].Column}");
Console.WriteLine(broken.ErrorText);

var compiled = NnModel.Compile(source, "xor.nn");
if (!compiled.Success)
{
    Console.Error.WriteLine(compiled.ErrorText);
    return 1;
}
var model = compiled.Model;

// 2. Inspect: shapes and parameter paths.
Console.WriteLine($"network {model.Network.Name}: {model.InputShape} -> {model.OutputShape}, {model.Network.ParameterCount} parameters");
foreach (var p in model.Parameters)
    Console.WriteLine($"  {p.Path,-10} {p.Shape}  {p.Initializer}");

// 3. Train on arrays with the train block's settings (overridable), reporting progress per epoch.
float[,] x = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
float[,] y = { { 0 }, { 1 }, { 1 }, { 0 } };
var trainer = model.CreateTrainer(new TrainerOptions { Epochs = 400 });
trainer.EpochCompleted += (_, e) =>
{
    if (e.Epoch % 100 == 0) Console.WriteLine($"epoch {e.Epoch}/{e.Epochs}  loss {e.Loss:0.0000}");
};
var result = trainer.Fit(x, y);

// 4. Predict.
var predictions = trainer.Predict(x);
for (int i = 0; i < 4; i++)
    Console.WriteLine($"{x[i, 0]} xor {x[i, 1]} = {predictions[i, 0]:0.000}");

// 5. Save the weights (safetensors, named by parameter path) and load them into an inference session.
var path = Path.Combine(Path.GetTempPath(), $"xor-{Environment.ProcessId}.safetensors");
trainer.Save(path);
var session = model.LoadSession(path);
var classes = session.PredictClasses(x);
File.Delete(path);
Console.WriteLine($"loaded session predicts {string.Join(" ", classes)}");

// 6. Export to ONNX (ONNX Runtime, browsers, phones run it without nn).
var onnx = Path.Combine(Path.GetTempPath(), $"xor-{Environment.ProcessId}.onnx");
trainer.ExportOnnx(onnx);
Console.WriteLine($"exported {new FileInfo(onnx).Length} bytes of ONNX");
File.Delete(onnx);

// 7. Bad input is a clear error.
try { trainer.Predict(new float[2, 3]); }
catch (NnException e) { Console.WriteLine($"wrong width: {e.Code}: {e.Diagnostics[0].Message}"); }

bool ok = result.FinalLoss < 0.05 && classes.SequenceEqual(new[] { 0, 1, 1, 0 });
Console.WriteLine(ok ? "ok" : "FAILED: XOR was not learnt");
return ok ? 0 : 1;
