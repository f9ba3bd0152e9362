/// Embedding nn in an F# program: fit y = sin 3x + x/2 from arrays of doubles, then predict.
module Nn.Examples.FSharp.Program

open System
open Nn

let source = """
network curve (x: [n, 1]) : [n, 1] =
    x |> dense 32 |> tanh |> dense 32 |> tanh |> dense 1

train curve {
    loss      = mse
    optimizer = adam { lr = 0.01 }
    batch     = 32
    epochs    = 150
    seed      = 3
}
"""

let f x = sin (3.0 * x) + 0.5 * x

[<EntryPoint>]
let main _ =
    match NnModel.Compile(source, "curve.nn") with
    | r when not r.Success ->
        eprintfn "%s" r.ErrorText
        1
    | r ->
        let model = r.Model
        printfn "network %O, %d parameters" model.Network model.Network.ParameterCount
        // F# arrays of doubles work as they are: 400 points in [-2, 2]
        let rng = Random 7
        let xs = Array.init 400 (fun _ -> -2.0 + 4.0 * rng.NextDouble())
        let x = Array2D.init xs.Length 1 (fun i _ -> xs[i])
        let y = Array2D.init xs.Length 1 (fun i _ -> f xs[i])
        let trainer = model.CreateTrainer()
        trainer.EpochCompleted.Add(fun e -> if e.Epoch % 50 = 0 then printfn "epoch %d/%d  loss %.5f" e.Epoch e.Epochs e.Loss)
        let result = trainer.Fit(x, y)
        let probe = array2D [ for v in [ -1.5; -0.5; 0.0; 0.5; 1.5 ] -> [ v ] ]
        let predicted = trainer.Predict probe
        for i in 0 .. Array2D.length1 probe - 1 do
            printfn "f(%5.2f) = %6.3f   predicted %6.3f" probe[i, 0] (f probe[i, 0]) predicted[i, 0]
        let worst = Seq.init (Array2D.length1 probe) (fun i -> abs (predicted[i, 0] - f probe[i, 0])) |> Seq.max
        if result.FinalLoss < 0.01 && worst < 0.2 then
            printfn "ok"
            0
        else
            printfn "FAILED: loss %.4f, worst error %.3f" result.FinalLoss worst
            1
