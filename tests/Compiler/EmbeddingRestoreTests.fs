/// The embedding API after early stopping: the trainer holds the restored epoch's weights and says which epoch.
module Nn.Tests.Compiler.EmbeddingRestoreTests

open Expecto
open Nn

let private source =
    """network net (x: [n, 2]) : [n, 1] =
    x |> dense 8 |> tanh |> dense 1 |> sigmoid

train net {
    loss       = binaryCrossEntropy
    optimizer  = sgd { lr = 3.0; momentum = 0.9 }
    validation = 0.5
    stop       = earlyStopping { patience = 2 }
    batch      = 4
    epochs     = 60
    seed       = 5
}
"""

/// 40 noisy points of two classes.
let private rows =
    let rng = System.Random 3
    let xs = Array2D.init 40 2 (fun _ _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    let ys = Array2D.init 40 1 (fun i _ -> if (xs[i, 0] * xs[i, 1] > 0f) <> (rng.NextDouble() < 0.2) then 1f else 0f)
    xs, ys

[<Tests>]
let tests =
    testList "Compiler.EmbeddingRestore" [
        test "Fit with early stopping ends with the restored epoch's weights and names that epoch" {
            let m = (NnModel.Compile(source, "net.nn")).EnsureSuccess()
            let trainer = m.CreateTrainer()
            let seen = System.Collections.Generic.List<float32[]>()
            trainer.EpochCompleted.Add(fun _ -> seen.Add(trainer.GetParameter("dense1.w").ToArray()))
            let xs, ys = rows
            let r = trainer.Fit(xs, ys)
            Expect.isTrue r.StoppedEarly "stopped early"
            Expect.isTrue r.RestoredEpoch.HasValue "an epoch was restored"
            let k = r.RestoredEpoch.Value
            Expect.isLessThan k r.History.Count "an earlier epoch than the last"
            let best = r.History |> Seq.minBy (fun e -> e.ValidationLoss.Value)
            Expect.equal k best.Epoch "the epoch of the best validation loss"
            Expect.equal
                (trainer.GetParameter("dense1.w").ToArray())
                seen[k - 1]
                "the trainer holds that epoch's weights"
            Expect.notEqual (trainer.GetParameter("dense1.w").ToArray()) seen[seen.Count - 1] "not the last epoch's"
        }
    ]
