"""Expected results on the shared fixtures, from their README."""

# Top-1 class of Google's reference int8 MobileNetV2 on the fixture photos,
# whole photo resized to 224x224. The float EfficientNet-Lite0 and its int8
# export agree with every one.
EXPECTED_TOP1 = {
    "bird.bmp": "chickadee",
    "cat.bmp": "Egyptian cat",
    "cat_720p.jpg": "Egyptian cat",
    "dragonfly.bmp": "dragonfly",
    "grace_hopper.bmp": "military uniform",
    "parrot.jpg": "macaw",
    "pets.jpg": "Boston bull",
    "sunflower.bmp": "daisy",
}
