# What keeps an inference cascade's config whole for mmengine and the host tools: the
# config keeps its stages' training data as train_dataloader (from the data set base),
# which browse_dataset.py (mmdet, mmseg) and mmdet's analyze_results.py read, and
# mmengine's Runner takes train_dataloader, train_cfg and optim_wrapper together. The
# loop refuses tools/train.py at once, naming the stage configs to train instead, so
# optim_wrapper is never built.
train_cfg = dict(type='TinySaverInferenceOnlyLoop')
optim_wrapper = dict()  # never built: the train loop above refuses first
