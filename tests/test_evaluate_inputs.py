"""`lince evaluate` input handling: CSV and folder labels, missing settings, bad names."""

import pytest
from click.testing import CliRunner

from lince.cli import cli
from lince.models.dataset import read_labels_csv
from lince.models.evaluation import labelled_files
from lince.runtime.errors import LinceError
from lince.synthetic import make_dataset


def test_csv_labels_matched_by_name(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "labels.csv").write_text('file,index,label\na.jpg,1,"Tench, Tinca tinca "\nb.jpg,0,goldfish\n')
    files = read_labels_csv(tmp_path / "labels.csv", ["goldfish", "tench, Tinca tinca"])
    assert files.labels == (1, 0)
    assert files.paths == (tmp_path / "a.jpg", tmp_path / "b.jpg")


def test_csv_duplicate_names_use_index(tmp_path):
    # ImageNet names "crane" twice: the bird (134) and the machine (517).
    classes = ["crane", "dog", "crane"]
    (tmp_path / "labels.csv").write_text("file,index,label\nbird.jpg,0,crane\nmachine.jpg,2,crane\nx.jpg,,crane\n")
    assert read_labels_csv(tmp_path / "labels.csv", classes).labels == (0, 2, 0)
    # With a "background" class first, the same CSV indices are shifted by one.
    shifted = ["background"] + classes
    assert read_labels_csv(tmp_path / "labels.csv", shifted).labels == (1, 3, 1)


def test_csv_unknown_label(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label\na.jpg,zebra\n")
    with pytest.raises(LinceError, match="'zebra'"):
        read_labels_csv(tmp_path / "labels.csv", ["cat", "dog"])


def test_csv_without_columns(tmp_path):
    (tmp_path / "labels.csv").write_text("path,class\na.jpg,cat\n")
    with pytest.raises(LinceError, match="'file' and 'label'"):
        read_labels_csv(tmp_path / "labels.csv", ["cat"])


def test_folders_matched_to_model_classes(tmp_path):
    make_dataset(tmp_path, classes=["stop", "circle"], per_class=2, size=(32, 32))
    files = labelled_files(tmp_path, ["arrow_left", "circle", "stop"])
    assert sorted(set(files.labels)) == [1, 2]
    with pytest.raises(LinceError, match="not classes of the model"):
        labelled_files(tmp_path, ["circle", "square"])


def test_keras_without_sidecar_needs_preprocess(tmp_path, models_dir):
    make_dataset(tmp_path / "data", classes=["stop"], per_class=1, size=(32, 32))
    result = CliRunner().invoke(cli, ["evaluate", str(models_dir / "efficientnet_lite0_imagenet.keras"),
                                      str(tmp_path / "data"), "-o", str(tmp_path / "report")])
    assert result.exit_code != 0
    assert "--preprocess" in result.output
    assert not (tmp_path / "report").exists()


def test_tflite_folder_evaluation(tmp_path, models_dir, images_dir):
    # Google's reference MobileNetV2 on photos sorted into folders named after their ImageNet class.
    import shutil

    for name, label in (("bird.bmp", "chickadee"), ("sunflower.bmp", "daisy"), ("parrot.jpg", "macaw")):
        (tmp_path / "data" / label).mkdir(parents=True)
        shutil.copy(images_dir / name, tmp_path / "data" / label / name)
    result = CliRunner().invoke(cli, ["evaluate", str(models_dir / "mobilenet_v2_1.0_224_quant.tflite"),
                                      str(tmp_path / "data"), "--labels", str(models_dir / "imagenet_labels.txt"),
                                      "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "top-1 accuracy: 100.00% (3/3)" in result.output
    assert "chickadee" in result.output
    assert (tmp_path / "report" / "results.json").is_file()
    assert not (tmp_path / "report" / "misclassified.png").exists()


def test_report_folder_not_overwritten(tmp_path, models_dir):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "results.json").write_text("{}")
    (tmp_path / "data" / "macaw").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["evaluate", str(models_dir / "mobilenet_v2_1.0_224_quant.tflite"),
                                      str(tmp_path / "data"), "-o", str(tmp_path / "report")])
    assert result.exit_code != 0
    assert "--overwrite" in result.output
    assert (tmp_path / "report" / "results.json").read_text() == "{}"
