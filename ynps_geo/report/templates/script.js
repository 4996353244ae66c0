(function(){
  function set(l){
    document.body.className=document.body.className.replace(/\bshow-(zh|en)\b/g,'')+' show-'+l;
    document.documentElement.lang=(l==='zh'?'zh-CN':'en');
    var b=document.querySelectorAll('.toolbar button[data-lang]');
    for(var i=0;i<b.length;i++){b[i].className=(b[i].getAttribute('data-lang')===l?'on':'');}
    var t=document.querySelector('title');
    if(t){t.textContent=t.getAttribute('data-'+l)||t.textContent;}
  }
  var b=document.querySelectorAll('.toolbar button[data-lang]');
  for(var i=0;i<b.length;i++){
    b[i].addEventListener('click',function(){set(this.getAttribute('data-lang'));});
  }
  var p=document.getElementById('print');
  if(p){p.addEventListener('click',function(){window.print();});}
})();
