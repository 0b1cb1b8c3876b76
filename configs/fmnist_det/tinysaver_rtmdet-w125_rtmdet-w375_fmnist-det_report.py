# The embedded detection demo: the cascade of
# tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py, plus a report comparing exit
# policies. report=True also runs the base on the images that exited (only for
# the comparison: predictions, exit ratio and MACs stay the routed cascade's).
#   python tools/test.py configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det_report.py
# writes results/demo_det.json. Policy thresholds: tools/train_evaluator.py output.
_base_ = ['./tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py']
model = dict(report=True)
test_evaluator = [
    dict(type='CocoMetric', ann_file='data/fmnist_det/annotations/instances_val.json',
         metric='bbox'),
    dict(type='TinySaverMetric'),
    dict(type='TinySaverDetReport',
         ann_file='data/fmnist_det/annotations/instances_val.json',
         out_file='results/demo_det.json',
         policies=dict(evaluator=0.5698603987693787, max_score=0.8515960574150085,
                   mean_topk=0.5765004754066467, oracle=0.4875)),
]
val_evaluator = test_evaluator
