"""The application under Ray Serve, end to end (slow): local Ray, loopback HTTP only.

Starts Ray and Serve with a temp dir of its own, serves the demo cascade, sends real
Fashion-MNIST test images over HTTP and through the handle and compares every answer
with tools/test.py's dump for the same images; sends bad requests (each followed by a
good one); kills the base replica under load and checks sent = answered + refused with
nothing hanging; overloads a small application for 503s; then shuts everything down and
checks that Ray's processes, the port and the temp dir are gone.
"""
import base64
import glob
import json
import os
import os.path as osp
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from serving_data import CLS_CFG, png_bytes  # noqa: E402

N = 48
CLIENT_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _post(url, body, ctype, timeout=CLIENT_TIMEOUT_S):
    req = urllib.request.Request(url, data=body, headers={'Content-Type': ctype} if ctype
                                 else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _test_py_answers(tmp):
    """tools/test.py's per-image dump for the first N test images."""
    out = osp.join(tmp, 'preds.pkl')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', CLS_CFG, '--out', out, '--work-dir',
         osp.join(tmp, 'work'), '--cfg-options', f'test_dataloader.dataset.indices={N}',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        return pickle.load(f)  # our own tools/test.py dump, not a request body


def _same(answer, ref):
    assert answer['answered_by'] == ref['answered_by']
    assert abs(answer['exit_score'] - float(ref['exit_score'])) < 1e-5
    label = int(np.asarray(ref['pred_label']).reshape(-1)[0])
    assert answer['label'] == label
    assert abs(answer['score'] - float(np.asarray(ref['pred_score'])[label])) < 1e-5


def _ray_processes(marker):
    found = []
    for path in glob.glob('/proc/[0-9]*/cmdline'):
        try:
            with open(path, 'rb') as f:
                if marker.encode() in f.read():
                    found.append(path.split('/')[2])
        except OSError:
            pass
    return found


@pytest.mark.slow  # Ray start-up, three replicas building the cascade, tools/test.py (~3 min)
def test_served_cascade_end_to_end():
    ray = pytest.importorskip('ray')
    from ray import serve
    from mmpretrain.datasets import FashionMNIST
    from tinysaver_mm.serving import build_app

    tmp = tempfile.mkdtemp(prefix='/tmp/tsr')  # short: Ray's socket paths live under it
    refs = _test_py_answers(tmp)
    ds = FashionMNIST(data_root=osp.join(ROOT, 'data/fashion_mnist'), split='test',
                      test_mode=True, pipeline=[])
    images = [png_bytes(ds.get_data_info(i)['img']) for i in range(N)]
    port = _free_port()
    url = f'http://127.0.0.1:{port}/'
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        ray.init(num_cpus=4, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
        serve.start(http_options=dict(host='127.0.0.1', port=port))
        serve.run(build_app(dict(config=CLS_CFG, max_batch_size='8', stage_timeout_s='10',
                                 calibration='results/calibration_shift_fashion_mnist.json')),
                  name='tinysaver', route_prefix='/')
        # 1. every image over HTTP, 8 clients at once: tools/test.py's answers
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda b: _post(url, b, 'image/png'), images))
        for (status, body), ref in zip(got, refs):
            assert status == 200, body
            _same(json.loads(body)['results'][0], ref)
        # several images in one request, and through the handle
        body = json.dumps(dict(images=[base64.b64encode(b).decode() for b in images[:5]]))
        status, many = _post(url, body.encode(), 'application/json')
        assert status == 200
        for answer, ref in zip(json.loads(many)['results'], refs):
            _same(answer, ref)
        handle = serve.get_app_handle('tinysaver')
        res = handle.predict.remote(images[5:10]).result(timeout_s=CLIENT_TIMEOUT_S)
        assert res['status'] == 200
        for answer, ref in zip(res['results'], refs[5:10]):
            _same(answer, ref)
        # the HTTP port listens on loopback only
        listening = subprocess.run(['ss', '-ltn'], capture_output=True, text=True).stdout
        assert f'127.0.0.1:{port}' in listening and f'0.0.0.0:{port}' not in listening
        # 2. bad requests get a 4xx JSON naming the problem; a good one after each
        for bad, ctype, code in ((b'', 'image/png', 400), (b'%PDF-1.4', 'image/png', 400),
                                 (images[0][:30], 'image/png', 400),
                                 (images[0], 'text/plain', 415)):
            status, body = _post(url, bad, ctype)
            assert status == code and json.loads(body)['message'], body
            status, body = _post(url, images[1], 'image/png')
            assert status == 200
            _same(json.loads(body)['results'][0], refs[1])
        stats = json.loads(urllib.request.urlopen(url + 'stats', timeout=30).read())
        assert stats['requests_answered'] >= N + 6 and stats['requests_refused'] >= 4
        hard = sum(r['answered_by'] == 'base' for r in refs)
        assert stats['answered_by']['base'] >= hard > 0
        assert sum(int(k) * v for k, v in stats['batch_size']['base']['histogram'].items()) \
            == stats['answered_by']['base']
        assert stats['drift']['seen'] == stats['images_answered']
        # 3. kill the base replica under load: every request is answered or refused (5xx)
        base = [a for a in ray.util.list_named_actors(all_namespaces=True)
                if '#base#' in a['name']]
        assert len(base) == 1
        hard_images = [b for b, r in zip(images, refs) if r['answered_by'] == 'base']
        sent = 0

        def client(i):
            t = time.time()
            status, body = _post(url, hard_images[i % len(hard_images)], 'image/png')
            return status, time.time() - t, body

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(client, i) for i in range(60)]
            sent = len(futures)
            time.sleep(1.0)
            ray.kill(ray.get_actor(base[0]['name'], namespace=base[0]['namespace']),
                     no_restart=True)
            results = [f.result(timeout=CLIENT_TIMEOUT_S * 3) for f in futures]
        answered = sum(s == 200 for s, _, _ in results)
        refused = sum(s >= 500 for s, _, _ in results)
        assert sent == answered + refused, [s for s, _, _ in results]
        assert max(t for _, t, _ in results) < CLIENT_TIMEOUT_S
        for s, _, body in results:
            if s >= 500:
                assert body  # a message, not an empty 5xx
        # Serve replaces the replica: the service recovers
        deadline = time.time() + 120
        while time.time() < deadline:
            status, body = _post(url, hard_images[0], 'image/png')
            if status == 200:
                break
            time.sleep(2)
        assert status == 200
        # 4. overload: one request at a time and one queued -> 503 with a message
        serve.run(build_app(dict(config=CLS_CFG, max_ongoing_requests='1',
                                 max_queued_requests='1')),
                  name='small', route_prefix='/small')
        with ThreadPoolExecutor(12) as pool:
            res = list(pool.map(lambda i: _post(url + 'small', images[i], 'image/png'),
                                range(24)))
        codes = [s for s, _ in res]
        assert set(codes) <= {200, 503} and 503 in codes and 200 in codes, codes
        assert all(body for s, body in res if s == 503)
    finally:
        os.chdir(cwd)
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
            if sys.exc_info()[0] is not None:  # failed: still leave no temp dir behind
                shutil.rmtree(tmp, ignore_errors=True)
    # 5. nothing of this Ray is left: processes, port, temp dir
    deadline = time.time() + 30
    while _ray_processes(tmp) and time.time() < deadline:
        time.sleep(1)
    assert _ray_processes(tmp) == []
    assert f':{port} ' not in subprocess.run(['ss', '-ltn'], capture_output=True,
                                             text=True).stdout
    with socket.socket() as s:  # nothing listens there (TIME_WAIT connections may remain)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', port))
    shutil.rmtree(tmp)
    assert not osp.exists(tmp)
