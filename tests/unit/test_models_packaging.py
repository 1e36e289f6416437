"""mlp.log_model / mlp.load_model: MLflow's MLmodel format, round trips per flavor, signatures,
pinned environments, MLflow's loader both ways, environment warnings and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlp
from mlp.errors import Conflict, EnvironmentMismatch, InvalidInput

pytest.importorskip("cloudpickle")
pytest.importorskip("yaml")
sklearn = pytest.importorskip("sklearn")
import yaml  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from mlp.models import FunctionModel, _env  # noqa: E402

X = pd.DataFrame({"age": [31.0, 45.0, 22.0, 60.0], "visits": [3, 8, 1, 12]})
Y = [0, 1, 0, 1]


def _clf():
    return LogisticRegression().fit(X, Y)


class Doubler:
    def predict(self, x):
        return x * 2


def total(x):
    return np.asarray(x).sum(axis=1)


def _files(run, path="model") -> dict[str, Path]:
    """The model folder as stored, downloaded fresh."""
    out = Path(run.download_artifacts(path, Path(os.environ["MLP_HOME"]) / "dl" / path))
    return {f.name: f for f in out.iterdir()}


def _mlmodel(run, path="model") -> dict:
    return yaml.safe_load(_files(run, path)["MLmodel"].read_text())


def _quiet_load(ref):
    with warnings.catch_warnings():
        warnings.simplefilter("error", EnvironmentMismatch)
        return mlp.load_model(ref)


# -- flavors -------------------------------------------------------------------------------


def test_sklearn_estimator_round_trips_with_mlflows_sklearn_flavor():
    clf = _clf()
    with mlp.start_run(experiment="churn") as run:
        info = mlp.log_model(clf, "model", example=X.head(2))
    assert info["run_id"] == run.id and info["artifact_path"] == "model"
    assert info["flavor"] == "sklearn" and info["uri"] == f"runs:/{run.id}/model"
    meta = _mlmodel(run)
    py = sys.version.split()[0]
    assert meta["flavors"] == {
        "sklearn": {"pickled_model": "model.pkl", "sklearn_version": sklearn.__version__,
                    "serialization_format": "cloudpickle", "code": None},
        "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                            "predict_fn": "predict", "python_version": py,
                            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}},
    }
    assert meta["run_id"] == run.id and meta["artifact_path"] == "model"
    assert len(meta["model_uuid"]) == 32 and meta["utc_time_created"].startswith("20")
    loaded = _quiet_load(info["uri"])
    assert type(loaded) is LogisticRegression
    assert (loaded.predict(X) == clf.predict(X)).all()


def test_run_log_model_stores_on_that_run():
    with mlp.start_run(experiment="churn") as run:
        info = run.log_model(Doubler(), "doubler")
    assert info["flavor"] == "python_function"
    assert any(a["path"] == "doubler/MLmodel" for a in run.artifacts)
    assert _quiet_load(f"runs:/{run.id}/doubler").predict(np.ones(2)).tolist() == [2.0, 2.0]


def test_plain_function_loads_as_a_function_model_with_predict():
    with mlp.start_run() as run:
        info = mlp.log_model(total, "scorer", example=X)
    flavor = _mlmodel(run, "scorer")["flavors"]
    assert set(flavor) == {"python_function"}
    assert flavor["python_function"]["loader_module"] == "mlp.models.pyfunc"
    assert flavor["python_function"]["data"] == "model.pkl"
    model = _quiet_load(info["uri"])
    assert isinstance(model, FunctionModel)
    assert model.predict(X).tolist() == model(X).tolist() == [34.0, 53.0, 23.0, 72.0]


def _python(code: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLP_HOME": str(home), "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                          capture_output=True, timeout=120, check=True)


def test_a_class_defined_in_a_notebook_loads_where_it_is_not_defined(mlp_home):
    logged = _python("""
        import mlp, numpy as np

        class Shift:                      # defined in __main__, as in a notebook
            def __init__(self, by):
                self.by = by
            def predict(self, x):
                return np.asarray(x) + self.by

        with mlp.start_run(experiment="nb") as run:
            print(mlp.log_model(Shift(10), "model", example=np.zeros((2, 3)))["uri"])
    """, mlp_home).stdout.strip().splitlines()[-1]
    loaded = _python(f"""
        import mlp, numpy as np
        model = mlp.load_model({logged!r})
        print(type(model).__name__, model.by, model.predict(np.ones((1, 3))).tolist())
    """, mlp_home)
    assert loaded.stdout.split("\n")[-2] == "Shift 10 [[11.0, 11.0, 11.0]]"


# -- signature and example -------------------------------------------------------------------


def test_a_dataframe_example_gives_named_columns_with_mlflow_types():
    df = pd.DataFrame({
        "f64": [1.5, np.nan], "i64": [1, 2], "f32": np.float32([1, 2]),
        "i32": np.int32([1, 2]), "s": ["a", "b"], "b": [True, False],
        "t": pd.to_datetime(["2024-01-01", "2024-01-02"]), "o": ["x", None],
    })
    with mlp.start_run() as run:
        info = mlp.log_model(lambda d: d["i64"].to_numpy(), "model", example=df)
    inputs = json.loads(info["signature"]["inputs"])
    assert inputs == [
        {"type": "double", "name": "f64", "required": False},
        {"type": "long", "name": "i64", "required": True},
        {"type": "float", "name": "f32", "required": True},
        {"type": "integer", "name": "i32", "required": True},
        {"type": "string", "name": "s", "required": True},
        {"type": "boolean", "name": "b", "required": True},
        {"type": "datetime", "name": "t", "required": True},
        {"type": "string", "name": "o", "required": False},
    ]
    # one value per row: a column without a name, as MLflow infers it
    assert json.loads(info["signature"]["outputs"]) == [{"type": "long", "required": True}]
    meta = _mlmodel(run)
    assert meta["signature"] == {"inputs": info["signature"]["inputs"],
                                 "outputs": info["signature"]["outputs"], "params": None}
    assert meta["saved_input_example_info"] == {
        "artifact_path": "input_example.json", "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json", "type": "dataframe"}
    files = _files(run)
    example = json.loads(files["input_example.json"].read_text())
    assert example["columns"] == list(df.columns)
    assert example["data"][1][:2] == [None, 2] and example["data"][0][6] == "2024-01-01T00:00:00"
    assert json.loads(files["serving_input_example.json"].read_text()) == {
        "dataframe_split": example}


def test_an_ndarray_example_gives_a_tensor_signature():
    arr = np.arange(6, dtype="float32").reshape(2, 3)
    with mlp.start_run() as run:
        info = mlp.log_model(Doubler(), "model", example=arr)
    assert json.loads(info["signature"]["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    assert json.loads(info["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    meta = _mlmodel(run)
    assert meta["saved_input_example_info"]["type"] == "ndarray"
    assert json.loads(_files(run)["input_example.json"].read_text()) == arr.tolist()


def test_an_output_a_signature_cannot_describe_is_any():
    with mlp.start_run(), pytest.warns(UserWarning, match="output is 'any'"):
        info = mlp.log_model(lambda x: np.array([{"k": 1}] * len(x)), "model",
                             example=np.ones((2, 2)))
    assert json.loads(info["signature"]["outputs"]) == [{"type": "any", "required": True}]


def test_a_given_signature_is_stored_as_given():
    sig = {"inputs": [{"type": "double", "name": "age", "required": True}], "outputs": None}
    with mlp.start_run() as run:
        info = mlp.log_model(Doubler(), "model", example=X, signature=sig)
    assert _mlmodel(run)["signature"] == info["signature"] == {
        "inputs": '[{"type": "double", "name": "age", "required": true}]',
        "outputs": None, "params": None}


def test_without_an_example_there_is_no_signature():
    with mlp.start_run() as run:
        info = mlp.log_model(Doubler(), "model")
    meta = _mlmodel(run)
    assert info["signature"] is None and "signature" not in meta
    assert "saved_input_example_info" not in meta and "input_example.json" not in _files(run)


# -- environment -------------------------------------------------------------------------------


def test_requirements_pin_what_is_installed_and_extra_ones_override():
    with mlp.start_run() as run:
        info = mlp.log_model(_clf(), "model", example=X,
                             requirements=["pandas>=2", "xgboost==2.0.3"])
    files = _files(run)
    reqs = files["requirements.txt"].read_text().splitlines()
    assert reqs == info["requirements"]
    pins = {r.split("==")[0].lower(): r for r in reqs}
    assert pins["scikit-learn"] == f"scikit-learn=={sklearn.__version__}"
    import cloudpickle

    assert pins["cloudpickle"] == f"cloudpickle=={cloudpickle.__version__}"
    assert pins["numpy"] == f"numpy=={np.__version__}"  # named by the estimator's pickle
    assert "pandas>=2" in reqs and not any(r.startswith("pandas==") for r in reqs)
    assert reqs[-1] == "xgboost==2.0.3"
    py = sys.version.split()[0]
    env = yaml.safe_load(files["python_env.yaml"].read_text())
    assert env["python"] == py and env["dependencies"] == ["-r requirements.txt"]
    assert env["build_dependencies"][0].startswith("pip==")
    conda = yaml.safe_load(files["conda.yaml"].read_text())
    assert conda["name"] == "mlflow-env" and conda["channels"] == ["conda-forge"]
    assert conda["dependencies"][0] == f"python={py}"
    assert conda["dependencies"][-1] == {"pip": reqs}


def test_our_loader_pins_jupyter_mlp_and_what_the_function_uses():
    with mlp.start_run() as run:
        info = mlp.log_model(total, "model")  # uses numpy through a global of this module
    names = {r.split("==")[0] for r in info["requirements"]}
    assert {"jupyter-mlp", "cloudpickle"} <= names
    assert f"jupyter-mlp=={mlp.__version__}" in info["requirements"]
    assert _files(run)["requirements.txt"].read_text().splitlines() == info["requirements"]


def test_without_mlflow_installed_the_mlmodel_names_no_mlflow_version(monkeypatch):
    real = _env.installed_version
    monkeypatch.setattr(_env, "installed_version",
                        lambda d: None if d.startswith("mlflow") else real(d))
    with mlp.start_run() as run:
        info = mlp.log_model(Doubler(), "model")
    assert "mlflow_version" not in _mlmodel(run)
    assert not any(r.startswith("mlflow") for r in info["requirements"])


def test_loading_in_another_environment_warns_each_difference(monkeypatch):
    monkeypatch.setattr(_env, "python_version", lambda: "3.8.10")
    with mlp.start_run() as run:
        mlp.log_model(_clf(), "model", requirements=[
            "scikit-learn==1.0.2", "surely-not-installed-pkg==4.5"])
    monkeypatch.undo()
    with pytest.warns(EnvironmentMismatch) as caught:
        model = mlp.load_model(f"runs:/{run.id}/model")
    assert type(model) is LogisticRegression  # a warning, not a refusal
    (w,) = [w for w in caught if w.category is EnvironmentMismatch]
    assert w.message.differences == [
        f"Python {sys.version.split()[0]} here, model pinned 3.8.10",
        f"scikit-learn {sklearn.__version__} here, model pinned 1.0.2",
        "surely-not-installed-pkg not installed here, model pinned 4.5",
    ]
    assert f"scikit-learn {sklearn.__version__} here, model pinned 1.0.2" in str(w.message)


# -- references and the cache ---------------------------------------------------------------


def test_models_uri_loads_a_registered_version_and_an_alias():
    clf = _clf()
    with mlp.start_run() as run:
        mlp.log_model(clf, "model")
    version = mlp.register_model(run, "churn", artifact="model")["version"]
    mlp.set_alias("churn", "champion", version)
    for ref in (f"models:/churn/{version}", "models:/churn@champion"):
        assert (_quiet_load(ref).predict(X) == clf.predict(X)).all()


def test_log_and_load_go_through_a_jupyter_server(monkeypatch, http_server):
    import mlp._client

    monkeypatch.setenv("MLP_SERVER_URL", http_server.url)
    monkeypatch.setenv("MLP_TOKEN", http_server.token)
    mlp._client._client = None
    clf = _clf()
    with mlp.start_run(experiment="remote") as run:
        mlp.log_model(clf, "model", example=X)
    assert mlp.status()["transport"] == "http"
    mlp.register_model(run, "remote-churn", artifact="model")
    for ref in (f"runs:/{run.id}/model", "models:/remote-churn/1"):
        assert (_quiet_load(ref).predict(X) == clf.predict(X)).all()


def test_a_model_is_downloaded_once_then_read_from_the_cache(monkeypatch, mlp_home):
    with mlp.start_run() as run:
        mlp.log_model(Doubler(), "model")
    _quiet_load(f"runs:/{run.id}/model")
    cached = list((mlp_home / "cache" / "models" / run.id / "model").iterdir())
    assert len(cached) == 1 and (cached[0] / "MLmodel").is_file()
    transport = mlp._client.get_client().transport

    def no_download(*a, **k):
        raise AssertionError("downloaded again")

    monkeypatch.setattr(transport, "download_artifacts", no_download)
    assert _quiet_load(f"runs:/{run.id[:8]}/model").predict(1) == 2


def test_a_local_model_folder_loads(tmp_path):
    with mlp.start_run() as run:
        mlp.log_model(total, "model")
    folder = run.download_artifacts("model", tmp_path)
    assert _quiet_load(str(folder)).predict([[1, 2]]).tolist() == [3]


# -- MLflow both ways ---------------------------------------------------------------------------


@pytest.fixture
def mlflow(monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("mlflow.pyfunc")
    # MLflow 3 refuses to unpickle unless told the model is trusted (ours are).
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    return mlflow


@pytest.mark.parametrize("kind", ["sklearn", "object", "function"])
def test_mlflow_pyfunc_loads_what_log_model_wrote(mlflow, kind, tmp_path):
    import mlflow.pyfunc

    model = {"sklearn": _clf(), "object": Doubler(), "function": total}[kind]
    with mlp.start_run() as run:
        mlp.log_model(model, "model", example=X)
    folder = run.download_artifacts("model", tmp_path)
    loaded = mlflow.pyfunc.load_model(str(folder))
    expected = model(X) if kind == "function" else model.predict(X)
    assert np.array_equal(np.asarray(loaded.predict(X)), np.asarray(expected))
    sig = loaded.metadata.signature.to_dict()
    assert sig == _mlmodel(run)["signature"]
    if kind == "object":
        assert isinstance(loaded.unwrap_python_model(), Doubler)


def test_our_signature_is_the_one_mlflow_infers(mlflow):
    from mlflow.models import infer_signature

    clf = _clf()
    arr = X.to_numpy()
    with mlp.start_run():
        ours_df = mlp.log_model(clf, "df", example=X)["signature"]
        ours_np = mlp.log_model(Doubler(), "np", example=arr)["signature"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_df = infer_signature(X, pd.Series(clf.predict(X))).to_dict()
    assert ours_df == theirs_df
    assert ours_np == infer_signature(arr, arr * 2).to_dict()


def test_load_model_reads_models_mlflow_wrote(mlflow, tmp_path):
    import mlflow.pyfunc
    import mlflow.sklearn

    clf = _clf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(clf, tmp_path / "sk", serialization_format="cloudpickle",
                                  input_example=X.head(2))

        class Plus1(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
                return model_input + 1

        mlflow.pyfunc.save_model(tmp_path / "py", python_model=Plus1())
    with mlp.start_run() as run:
        mlp.log_artifact(tmp_path / "sk", "sk")
        mlp.log_artifact(tmp_path / "py", "py")
    assert (_quiet_load(f"runs:/{run.id}/sk").predict(X) == clf.predict(X)).all()
    other_flavor = _quiet_load(f"runs:/{run.id}/py")  # mlflow.pyfunc.model's own loader
    assert other_flavor.predict(pd.DataFrame({"x": [1]}))["x"].tolist() == [2]


# -- refusals -------------------------------------------------------------------------------


def _refused(exc, call, *words):
    with pytest.raises(exc) as e:
        call()
    for w in words:
        assert w in str(e.value)
    return e.value


def test_bad_models_are_refused_naming_the_fix_and_nothing_is_stored():
    class Locked:
        def __init__(self):
            self.lock = threading.Lock()

        def predict(self, x):
            return x

    class Broken:
        def predict(self, x):
            raise ValueError("boom")

    with mlp.start_run() as run:
        _refused(InvalidInput, lambda: mlp.log_model(object(), "model"), "no predict method")
        _refused(InvalidInput, lambda: mlp.log_model(LogisticRegression, "model"),
                 "is a class", "instance")
        _refused(InvalidInput, lambda: mlp.log_model(Locked(), "model"), "cannot pickle")
        _refused(InvalidInput, lambda: mlp.log_model(Broken(), "model", example=X),
                 "failed on the example", "boom")
        _refused(InvalidInput, lambda: mlp.log_model(Doubler(), "model", example=[1, 2]),
                 "DataFrame or a numpy array")
        _refused(InvalidInput, lambda: mlp.log_model(Doubler(), "model", requirements="x"),
                 "list of pip requirements")
        _refused(InvalidInput, lambda: mlp.log_model(Doubler(), "model", requirements=[3]),
                 "not a pip requirement")
    assert run.artifacts == []


def test_logging_twice_at_one_path_keeps_the_first_model():
    with mlp.start_run() as run:
        mlp.log_model(Doubler(), "model")
        _refused(Conflict, lambda: mlp.log_model(total, "model"), "already has a model",
                 "another artifact_path")
    assert type(_quiet_load(f"runs:/{run.id}/model")).__name__ == "Doubler"


def test_log_model_needs_an_active_run():
    _refused(InvalidInput, lambda: mlp.log_model(Doubler()), "no active run")


def test_bad_references_are_refused_naming_the_form():
    with mlp.start_run() as run:
        mlp.log_artifact(__file__, "notes/file.py")
    _refused(InvalidInput, lambda: mlp.load_model("s3://bucket/model"), "runs:/<run id>/<path>",
             "models:/<name>/<version>")
    _refused(InvalidInput, lambda: mlp.load_model(f"runs:/{run.id}"), "names no model")
    _refused(InvalidInput, lambda: mlp.load_model(f"runs:/{run.id}/model"), "has no model at")
    _refused(InvalidInput, lambda: mlp.load_model(f"runs:/{run.id}/../x"), "not an artifact")


def test_a_model_of_a_missing_flavor_package_names_what_to_install(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"python_function": {
        "loader_module": "surely_absent_flavor.loader", "data": "model.bin"}}}))
    (folder / "requirements.txt").write_text("surely-absent-flavor==1.2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EnvironmentMismatch)
        _refused(InvalidInput, lambda: mlp.load_model(str(folder)), "surely_absent_flavor",
                 "pip install 'surely-absent-flavor==1.2'")


def test_import_mlp_loads_none_of_the_model_packages():
    p = subprocess.run([sys.executable, "-c", (
        "import sys, mlp; heavy = ['mlp.models', 'cloudpickle', 'sklearn', 'yaml', 'mlflow']; "
        "print(','.join(m for m in heavy if m in sys.modules))")],
        capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout.strip() == ""
