"""Robust decoding: the image kinds users really have, and the broken files they also have."""

import numpy as np
import pytest

from lince.runtime.errors import ImageDecodeError, LinceError
from lince.runtime.image_io import read_image

Image = pytest.importorskip("PIL.Image")
ImageOps = pytest.importorskip("PIL.ImageOps")

EXIF_ORIENTATION = 0x0112


def _picture() -> "Image.Image":
    """A 60x40 picture with a green top-left corner, so rotations and flips show."""
    picture = Image.new("RGB", (60, 40), (200, 30, 30))
    picture.paste((20, 200, 20), (0, 0, 20, 10))
    return picture


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def write_awkward_folder(folder):
    """Write one image of every awkward kind, and the broken files; return (good names, bad names)."""
    folder.mkdir(parents=True, exist_ok=True)
    picture = _picture()
    rgba = picture.convert("RGBA")
    rgba.putalpha(128)
    picture.save(folder / "rotated exif.jpg", exif=_exif(6))
    picture.convert("L").save(folder / "grayscale.png")
    rgba.save(folder / "rgba.png")
    palette = picture.convert("P", palette=Image.ADAPTIVE, colors=4)
    palette.save(folder / "palette_transparent.png", transparency=0)
    picture.convert("CMYK").save(folder / "cmyk.jpg")
    sixteen = (np.asarray(picture).astype(np.uint16) * 257)
    Image.fromarray(sixteen[..., 0]).save(folder / "gray16.png")
    picture.save(folder / "photo.webp")
    picture.save(folder / "ñandú del río.jpg")
    picture.save(folder / "png named as.jpg", format="PNG")
    (folder / "corrupt.jpg").write_bytes(b"this is not an image")
    whole = (folder / "rotated exif.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image")
    good = {"rotated exif.jpg", "grayscale.png", "rgba.png", "palette_transparent.png", "cmyk.jpg", "gray16.png",
            "photo.webp", "ñandú del río.jpg", "png named as.jpg"}
    return good, {"corrupt.jpg", "truncated.jpg", "empty.png"}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_orientation_everywhere(tmp_path, orientation, suffix):
    picture = _picture().convert("RGBA") if suffix != ".jpg" else _picture()
    path = tmp_path / f"o{orientation}{suffix}"
    options = {"lossless": True} if suffix == ".webp" else {"quality": 100} if suffix == ".jpg" else {}
    picture.save(path, exif=_exif(orientation), **options)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))[..., ::-1]
    decoded = read_image(path)
    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(int) - expected).mean() < 3


def test_awkward_kinds_decode(tmp_path):
    good, _bad = write_awkward_folder(tmp_path)
    for name in good:
        image = read_image(tmp_path / name)
        assert image.dtype == np.uint8, name
        assert image.ndim == 3 and image.shape[2] == 3, name


def test_transparency_over_white(tmp_path):
    write_awkward_folder(tmp_path)
    palette = read_image(tmp_path / "palette_transparent.png")
    # Palette entry 0 is transparent: those pixels show the white background.
    assert (palette == 255).all(axis=2).any()
    rgba = read_image(tmp_path / "rgba.png")
    assert rgba[20, 40].tolist() == [142, 142, 227]  # half of red (30, 30, 200) over white


def test_cmyk_colour(tmp_path):
    write_awkward_folder(tmp_path)
    image = read_image(tmp_path / "cmyk.jpg")
    assert np.abs(image[30, 50].astype(int) - [30, 30, 200]).max() < 12


@pytest.mark.parametrize("name, message", [("corrupt.jpg", "not a readable image"),
                                           ("truncated.jpg", "truncated"), ("empty.png", "empty")])
def test_broken_files_raise(tmp_path, name, message):
    write_awkward_folder(tmp_path)
    with pytest.raises(ImageDecodeError, match=message):
        read_image(tmp_path / name)


def test_calibration_skips_broken_by_name(tmp_path, caplog):
    from lince.calibration.dataset import load_calibration_images
    from lince.runtime.preprocess import Preprocessing

    good, bad = write_awkward_folder(tmp_path / "calibration")
    result = load_calibration_images(tmp_path / "calibration", Preprocessing(size=(24, 24)))
    assert {path.name for path in result.files} == good
    assert {path.name for path in result.skipped} == bad
    assert result.images.shape == (len(good), 24, 24, 3)
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    for name in bad:
        assert sum(name in message for message in warned) == 1, name


def test_calibration_folder_without_images(tmp_path):
    from lince.calibration.dataset import load_calibration_images
    from lince.runtime.preprocess import Preprocessing

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"garbage")
    (folder / "readme.txt").write_text("hello")
    with pytest.raises(LinceError, match=r"no readable images \(1 image files, 1 unreadable, 1 other files\)"):
        load_calibration_images(folder, Preprocessing(size=(24, 24)))
