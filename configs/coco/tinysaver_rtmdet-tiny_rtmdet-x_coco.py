# RTMDet-tiny (41.1 box AP, 8.0 GFLOPs) saving for RTMDet-x (52.8 box AP, 141.7
# GFLOPs) on COCO; same test pipeline. See tinysaver_rtmdet-tiny_rtmdet-l_coco.py.
_base_ = './tinysaver_rtmdet-tiny_rtmdet-l_coco.py'
model = dict(
    base=dict(
        cfg_path='mmdet::rtmdet/rtmdet_x_8xb32-300e_coco.py',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_x_8xb32-300e_coco/rtmdet_x_8xb32-300e_coco_20220715_230555-cc79b9ae.pth'))
