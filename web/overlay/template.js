// CasparCG / SPX-GC template interface, defined at once (classic script) so a
// caller never finds the globals missing; calls made before the page module has
// loaded are queued and replayed by app.js.
(function () {
  'use strict';
  var queue = [];
  var impl = null;
  function call(name) {
    return function (arg) {
      if (impl) return impl[name](arg);
      queue.push([name, arg]);
      return undefined;
    };
  }
  window.play = call('play');
  window.stop = call('stop');
  window.next = call('next');
  window.update = call('update');
  window.remove = call('stop');
  window.__tanyaTemplate = {
    attach: function (handlers) {
      impl = handlers;
      var q = queue;
      queue = [];
      for (var i = 0; i < q.length; i++) impl[q[i][0]](q[i][1]);
    },
  };
  // SPX-GC reads this definition from the template page.
  window.SPXGCTemplateDefinition = {
    description: 'Tanya: live question lower third, poll result, call to action and name strap',
    playserver: 'OVERLAY',
    playchannel: '1',
    playlayer: '7',
    webplayout: '7',
    out: 'manual',
    uicolor: '2',
    dataformat: 'json',
    DataFields: [
      { field: 'f0', ftype: 'textarea', title: 'Question (text)', value: '' },
      { field: 'f1', ftype: 'textfield', title: 'Name', value: '' },
      { field: 'f2', ftype: 'textfield', title: 'Outlet', value: '' },
      { field: 'f3', ftype: 'textfield', title: 'Speaker', value: '' },
      { field: 'f4', ftype: 'textfield', title: 'Speaker role', value: '' },
      { field: 'credit', ftype: 'textfield', title: 'Credit line (e.g. via telepon · RRI Palembang)', value: '' },
      { field: 'poll_question', ftype: 'textfield', title: 'Poll question (instead of a question)', value: '' },
      { field: 'poll_option1', ftype: 'textfield', title: 'Poll option 1', value: '' },
      { field: 'poll_count1', ftype: 'textfield', title: 'Poll count 1', value: '' },
      { field: 'poll_option2', ftype: 'textfield', title: 'Poll option 2', value: '' },
      { field: 'poll_count2', ftype: 'textfield', title: 'Poll count 2', value: '' },
      { field: 'poll_option3', ftype: 'textfield', title: 'Poll option 3', value: '' },
      { field: 'poll_count3', ftype: 'textfield', title: 'Poll count 3', value: '' },
      { field: 'graphic', ftype: 'dropdown', title: 'Graphic', value: '', items: [
        { text: 'Question or poll (fields above)', value: '' },
        { text: 'How to ask (call to action)', value: 'join' },
        { text: 'Speaker name strap', value: 'speaker' }
      ] },
      { field: 'strap_name', ftype: 'textfield', title: 'Strap: speaker name', value: '' },
      { field: 'strap_role', ftype: 'textfield', title: 'Strap: speaker role', value: '' },
      { field: 'join_code', ftype: 'textfield', title: 'How to ask: join code', value: '' },
      { field: 'join_url', ftype: 'textfield', title: 'How to ask: join address', value: '' },
      { field: 'join_sms', ftype: 'textfield', title: 'How to ask: SMS number', value: '' },
      { field: 'join_whatsapp', ftype: 'textfield', title: 'How to ask: WhatsApp number', value: '' },
      { field: 'f99', ftype: 'instruction', value: 'Leave the fields empty to show what the moderator takes on air (add #k=OVERLAY_KEY to the template URL). A poll (question and at least two options, in the columns of live.json) is drawn as the poll graphic; Graphic = how to ask draws the call to action (QR code of the join code, address, code, SMS/WhatsApp), Graphic = speaker name strap draws the strap. The columns are those of live.json, so a row of it can be passed as is.' }
    ]
  };
})();
